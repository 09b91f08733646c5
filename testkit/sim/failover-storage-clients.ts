/**
 * Storage clients that know several storage servers (a leader and its
 * standbys) and behave as Spider's clients do behind a failover: a call
 * answered `UNAVAILABLE` — a standby, a server starting or recovering, a dead
 * address — or not answered in time (a frozen server: SIGSTOP) is sent again
 * to the next address after a short backoff, until one answers or the retry
 * budget runs out. The address that answered last is where the next call of
 * the same client set goes first.
 *
 * `UNAVAILABLE` means nothing was written (DECISIONS D5), so repeating it is
 * safe; a call that timed out may still be executed by the frozen server once
 * it thaws — exactly what the fencing tests need to happen, and what the
 * fence must make harmless. RegisterJob has no idempotency key (D16): tests
 * submit jobs only while no failover is under way.
 *
 * Pass a {@link FailoverTarget} where the simulated scheduler, execution
 * managers and cluster take an address ({@link StorageAddress}).
 */
import { setTimeout as sleep } from "node:timers/promises";
import * as grpc from "@grpc/grpc-js";
import { connectStorage, statusCode, type StorageClients } from "./storage-clients.ts";

/** One attempt of a call on one address, reported when it settles. */
export interface CallAttempt {
  /** `tasks.reportTaskSuccess`, `queue.pollReadyTasks`, … */
  readonly method: string;
  readonly address: string;
  /** `Date.now()` when the attempt was sent and when its answer (or error) came. */
  readonly startedAt: number;
  readonly settledAt: number;
  /** grpc.status.OK (0) or the error's code. */
  readonly code: number;
}

export interface FailoverTargetOptions {
  /** Longest wait for one attempt's answer before trying the next address (a frozen server never answers). Default 3 s. */
  readonly attemptDeadlineMs?: number;
  /** Give up (throw the last error) after retrying this long. Default 60 s. */
  readonly retryForMs?: number;
  /** Called for every settled attempt (tests record what reached which server). */
  readonly onAttempt?: (attempt: CallAttempt) => void;
}

/** Several storage servers, tried in turn. */
export class FailoverTarget {
  readonly addresses: readonly string[];
  readonly attemptDeadlineMs: number;
  readonly retryForMs: number;
  onAttempt: ((attempt: CallAttempt) => void) | undefined;
  /** Calls sent again to another address (over every client set of this target). */
  moves = 0;
  /** Attempts sent and not yet answered, over every client set of this target. */
  readonly pending = new Set<{ readonly method: string; readonly address: string; readonly startedAt: number }>();

  constructor(addresses: readonly string[], options: FailoverTargetOptions = {}) {
    if (addresses.length === 0) throw new Error("a failover target needs at least one address");
    this.addresses = [...addresses];
    this.attemptDeadlineMs = options.attemptDeadlineMs ?? 3_000;
    this.retryForMs = options.retryForMs ?? 60_000;
    this.onAttempt = options.onAttempt;
  }
}

/** One server's address, or several tried in turn. */
export type StorageAddress = string | FailoverTarget;

/** `connectStorage` for one address, {@link connectFailoverStorage} for a failover target. */
export function connectStorageAt(address: StorageAddress, credentials?: grpc.ChannelCredentials): StorageClients {
  return typeof address === "string" ? connectStorage(address, credentials) : connectFailoverStorage(address, credentials);
}

type UnaryCall = (request: unknown, options?: { deadlineMs?: number; metadata?: grpc.Metadata }) => Promise<unknown>;
type ServiceKey = Exclude<keyof StorageClients, "close">;
const SERVICES: readonly ServiceKey[] = ["jobs", "tasks", "queue", "resourceGroups", "liveness", "schedulers", "sessions"];

function movesOn(error: unknown): boolean {
  const code = statusCode(error);
  return code === grpc.status.UNAVAILABLE || code === grpc.status.DEADLINE_EXCEEDED;
}

/** One client set over every address of `target`, retrying as described above. */
export function connectFailoverStorage(target: FailoverTarget, credentials?: grpc.ChannelCredentials): StorageClients {
  const perAddress = target.addresses.map((address) => connectStorage(address, credentials));
  let current = 0;
  const wrapService = (service: ServiceKey): Record<string, UnaryCall> => {
    const wrapped: Record<string, UnaryCall> = {};
    const first = perAddress[0]![service] as unknown as Record<string, unknown>;
    for (const name of Object.keys(first)) {
      if (name === "grpcClient" || name === "close" || typeof first[name] !== "function") continue;
      const method = `${service}.${name}`;
      wrapped[name] = async (request, options = {}) => {
        const giveUpAt = Date.now() + target.retryForMs;
        let backoffMs = 25;
        let index = current;
        for (;;) {
          const address = target.addresses[index]!;
          const call = (perAddress[index]![service] as unknown as Record<string, UnaryCall>)[name]!;
          const deadlineMs = Math.min(options.deadlineMs ?? target.attemptDeadlineMs, target.attemptDeadlineMs);
          const startedAt = Date.now();
          const attempt = { method, address, startedAt };
          target.pending.add(attempt);
          try {
            const response = await call(request, { ...options, deadlineMs }).finally(() => target.pending.delete(attempt));
            target.onAttempt?.({ method, address, startedAt, settledAt: Date.now(), code: grpc.status.OK });
            current = index;
            return response;
          } catch (error) {
            target.onAttempt?.({ method, address, startedAt, settledAt: Date.now(), code: statusCode(error) ?? grpc.status.UNKNOWN });
            if (!movesOn(error) || Date.now() + backoffMs > giveUpAt) throw error;
            // Another call may have found the serving address meanwhile: follow it, else try the next one.
            index = current !== index ? current : (index + 1) % target.addresses.length;
            current = index;
            target.moves++;
            await sleep(backoffMs);
            backoffMs = Math.min(backoffMs * 2, 200);
          }
        }
      };
    }
    return wrapped;
  };
  const clients = Object.fromEntries(SERVICES.map((service) => [service, wrapService(service)])) as unknown as Omit<StorageClients, "close">;
  return {
    ...clients,
    close: () => {
      for (const set of perAddress) set.close();
    },
  };
}
