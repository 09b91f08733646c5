/**
 * One writer per database (DECISIONS D3): the leader lease.
 *
 * The lease is a row (`leader_lease`, src/db/lease/) taken and renewed only by
 * conditional UPDATEs, so it holds on one MariaDB, on Galera (where two
 * takeovers on different nodes are certified and one aborts) and across a
 * switch to another database node: nothing depends on one node's local state.
 * Its expiry is in the database's clock; its epoch grows with every takeover.
 *
 * - A standby looks at the row every `renewIntervalMs` (sooner when the
 *   database says the lease ends sooner) and takes it once it has expired.
 * - The leader renews every `renewIntervalMs` on a connection of its own (never
 *   the pool's: the pool may be fenced, and renewals must not queue behind
 *   work). When no renewal has succeeded for `ttlMs − stepDownMarginMs`, counted
 *   on this process's monotonic clock from the start of the last successful
 *   one, the lease is *suspended*: the caller must stop writing at once. A
 *   standby can take over only after `ttlMs` by the database's clock, so the
 *   margin covers the skew between database nodes' clocks and late timers.
 * - A suspended lease keeps trying to renew: success (the epoch is still ours,
 *   so nobody else ran) *resumes* it; a row with another epoch *deposes* it.
 *
 * What stops a deposed leader's writes that are already in flight is the
 * fence (src/db/fence/), not this timer: the lease keeps leaders orderly, the
 * fence keeps them safe.
 */
import { hostname } from "node:os";
import type { Connection } from "mysql2/promise";
import { Backoff, sleep } from "../core/backoff.ts";
import { StorageError } from "../core/errors.ts";
import type { Logger } from "../observability/logger.ts";
import type { Db } from "./connection.ts";
import { DatabaseNodes } from "./database-nodes.ts";
import { ensureLeaseTable } from "./lease/ensureLeaseTable.ts";
import { holderGone, takeHolderLock } from "./lease/holderLock.ts";
import { legacyLockHolder } from "./lease/legacyLockHolder.ts";
import { readLease, type LeaseRow } from "./lease/readLease.ts";
import { releaseLease } from "./lease/releaseLease.ts";
import { renewLease } from "./lease/renewLease.ts";
import { takeLease } from "./lease/takeLease.ts";
import { singleConnectionDb } from "./single-connection-db.ts";

export const STANDBY_MESSAGE = "standby: another spider-storage holds the database lease; waiting";

export interface LeaseTiming {
  /** How long the lease lasts without renewal, by the database's clock. */
  readonly ttlMs: number;
  readonly renewIntervalMs: number;
  /** The lease is suspended after `ttlMs − stepDownMarginMs` without a successful renewal. */
  readonly stepDownMarginMs: number;
}

/** runtime.lease's defaults (src/config/schema.ts), for callers without a configuration. */
export const DEFAULT_LEASE_TIMING: LeaseTiming = { ttlMs: 5_000, renewIntervalMs: 1_000, stepDownMarginMs: 1_500 };

export interface LeaseOptions extends Partial<LeaseTiming> {
  readonly logger: Logger;
  /** This server's name in the lease (runtime.lease.holder_name); default `<hostname> pid <pid>`. */
  readonly holder?: string;
  /** Aborting stops the wait (the promise rejects with the signal's reason). */
  readonly signal?: AbortSignal;
  /** Called once, with the lease as the database shows it, when another server holds it and this one starts waiting. */
  readonly onWaiting?: (leader: LeaseRow) => void;
  /** Called on every look at the row while waiting (for `status`). */
  readonly onLook?: (leader: LeaseRow) => void;
  /** false: take the lease now or throw {@link LeaseHeldError} (offline commands). Default true. */
  readonly wait?: boolean;
  /** Which server of a multi-host URL to use (src/db/database-nodes.ts); default a choice of its own. */
  readonly nodes?: DatabaseNodes;
  /**
   * No other server can reach this database (the embedded MariaDB, whose data
   * directory this process has locked): take the lease even before it expires,
   * so a restart after a crash does not wait out the dead server's TTL.
   */
  readonly exclusive?: boolean;
  /** Monotonic milliseconds; default performance.now. Tests inject their own. */
  readonly clock?: () => number;
}

export type LeaseEvent =
  /** No renewal for ttl − margin: stop writing now. It may come back. */
  | "suspended"
  /** A renewal succeeded again after a suspension: the epoch is still ours. */
  | "resumed"
  /** Another server holds the lease now (or a renewal found another epoch): this server must start over as a standby. */
  | "deposed";

export interface Lease {
  /** Grows with every takeover: orders leaders (`status` shows it). */
  readonly epoch: bigint;
  readonly holder: string;
  readonly timing: LeaseTiming;
  /** held, suspended (may resume), deposed or released. */
  readonly state: "held" | "suspended" | "deposed" | "released";
  /** Registers a callback for each later event. */
  on(event: LeaseEvent, callback: (reason: string) => void): void;
  /**
   * Whether the lease may still be trusted now, checked synchronously against
   * the step-down deadline (suspending it, with its event, if that has passed).
   * Timers alone are not enough: a process resumed after a pause (SIGSTOP)
   * handles the requests that queued meanwhile before any timer runs, so
   * whatever answers for the leader (health, the RPC gate, the pool) asks first.
   */
  checkNow(): boolean;
  /** Ends the lease now (a standby takes over at once) unless it is already lost. */
  release(): Promise<void>;
}

export class LeaseHeldError extends StorageError {
  /** The holder's name (or the MariaDB connection of an older version's lock). */
  readonly holder: string;

  constructor(holder: string) {
    super("unavailable", `another spider-storage holds the database lease (${holder}): stop it first (a running server applies migrations itself)`);
    this.name = "LeaseHeldError";
    this.holder = holder;
  }
}

export function defaultHolderName(): string {
  return `${hostname()} pid ${process.pid}`;
}

/** The lease's connection: opened on demand, dropped after any failure (the next use opens another, on the node then current). */
class LeaseConnection {
  readonly #nodes: DatabaseNodes;
  readonly #timeoutMs: number;
  #open: { connection: Connection; db: Db } | undefined;
  /** Called when the open connection fails or closes by itself (a database restart, a lost node). */
  onDropped: (() => void) | undefined;
  /** Run on every newly opened connection before its first statement (the holder's liveness lock). */
  onOpen: ((db: Db) => Promise<void>) | undefined;

  constructor(nodes: DatabaseNodes, timeoutMs: number) {
    this.#nodes = nodes;
    this.#timeoutMs = timeoutMs;
  }

  /** Runs `fn` on the connection; past the timeout the connection is destroyed and the call rejects. */
  async run<T>(fn: (db: Db) => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.drop();
        reject(new Error(`the lease's database statement took longer than ${this.#timeoutMs} ms`));
      }, this.#timeoutMs);
      timer.unref();
    });
    try {
      return await Promise.race([
        (async () => {
          if (!this.#open) {
            const { connection } = await this.#nodes.connect({ connectTimeout: this.#timeoutMs, enableKeepAlive: true });
            const open = { connection, db: singleConnectionDb(connection) };
            const dropped = () => {
              if (this.#open !== open) return;
              this.drop();
              this.onDropped?.();
            };
            connection.on("error", dropped);
            connection.on("end", dropped);
            this.#open = open;
            await this.onOpen?.(open.db);
          }
          return fn(this.#open.db);
        })(),
        timedOut,
      ]);
    } catch (error) {
      this.drop();
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  drop(): void {
    const open = this.#open;
    // Cleared first: destroying may emit "end", which must not read as the database going away.
    this.#open = undefined;
    open?.connection.destroy();
  }
}

type TakeOutcome =
  | { readonly kind: "taken"; readonly epoch: bigint }
  | { readonly kind: "held"; readonly leader: LeaseRow | undefined }
  | { readonly kind: "legacy"; readonly legacy: bigint };

/** Takes the lease of the database at `url`, waiting as a standby while another server holds it. */
export async function acquireLease(url: string, options: LeaseOptions): Promise<Lease> {
  const { logger, signal } = options;
  const timing: LeaseTiming = {
    ttlMs: options.ttlMs ?? DEFAULT_LEASE_TIMING.ttlMs,
    renewIntervalMs: options.renewIntervalMs ?? DEFAULT_LEASE_TIMING.renewIntervalMs,
    stepDownMarginMs: options.stepDownMarginMs ?? DEFAULT_LEASE_TIMING.stepDownMarginMs,
  };
  const holder = (options.holder ?? defaultHolderName()).slice(0, 255);
  const nodes = options.nodes ?? new DatabaseNodes(url);
  const wait = options.wait ?? true;
  const clock = options.clock ?? (() => performance.now());
  // A statement that takes longer than one renewal interval is as good as lost.
  const connection = new LeaseConnection(nodes, Math.max(timing.renewIntervalMs, 500));
  const backoff = new Backoff({ initialMs: 100, maxMs: Math.max(timing.renewIntervalMs, 100) });
  let announced = false;
  let tableReady = false;
  const onAbort = () => connection.drop();
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    for (;;) {
      signal?.throwIfAborted();
      let delayMs: number;
      try {
        const started = clock();
        const outcome = await connection.run(async (db): Promise<TakeOutcome> => {
          if (!tableReady) {
            await ensureLeaseTable(db);
            tableReady = true;
          }
          const legacy = await legacyLockHolder(db, nodes.database);
          if (legacy !== undefined) return { kind: "legacy", legacy };
          const epoch = await takeLease(db, holder, timing.ttlMs, { evenIfHeld: options.exclusive === true });
          if (epoch !== undefined) return { kind: "taken", epoch };
          const leader = await readLease(db);
          // One MariaDB: a holder whose lease connection is gone (its process died) is not waited out.
          if (leader?.held && (await holderGone(db, nodes.database, leader.epoch))) {
            const next = await takeLease(db, holder, timing.ttlMs, { ifEpoch: leader.epoch });
            if (next !== undefined) return { kind: "taken", epoch: next };
          }
          return { kind: "held", leader };
        });
        if (outcome.kind === "taken") {
          const epoch = outcome.epoch;
          // From now on every connection the lease opens holds the liveness lock of this epoch.
          connection.onOpen = (db) => takeHolderLock(db, nodes.database, epoch);
          // A hint only: if it fails, the connection is dropped and the next one takes it (onOpen).
          await connection.run((db) => takeHolderLock(db, nodes.database, epoch)).catch(() => undefined);
          if (announced) logger.info({ epoch: outcome.epoch, holder }, "database lease taken over: no longer standby");
          else logger.debug({ epoch: outcome.epoch, holder }, "database lease taken");
          return holdLease(connection, outcome.epoch, holder, timing, started, { logger, clock });
        }
        const leader: LeaseRow =
          outcome.kind === "legacy"
            ? { epoch: 0n, holder: `an older spider-storage, MariaDB connection ${outcome.legacy}`, held: true, remainingMs: timing.renewIntervalMs }
            : (outcome.leader ?? { epoch: 0n, holder: "", held: false, remainingMs: 0 });
        if (!wait) throw new LeaseHeldError(leader.holder || "unknown");
        options.onLook?.(leader);
        if (!announced) {
          announced = true;
          logger.warn({ leader: leader.holder, epoch: leader.epoch }, STANDBY_MESSAGE);
          options.onWaiting?.(leader);
        }
        backoff.reset();
        // Look again when the holder's lease would end, but at least once per interval.
        delayMs = Math.min(timing.renewIntervalMs, Math.max(10, leader.remainingMs + 5));
      } catch (error) {
        if (error instanceof LeaseHeldError) throw error;
        signal?.throwIfAborted();
        // Offline commands fail rather than wait for the database.
        if (!wait) throw error;
        delayMs = backoff.next();
        logger.warn({ retryInMs: delayMs, err: error }, "database lease: the database did not answer; retrying");
      }
      await sleep(delayMs, signal);
    }
  } catch (error) {
    connection.drop();
    throw error;
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
}

function holdLease(
  connection: LeaseConnection,
  epoch: bigint,
  holder: string,
  timing: LeaseTiming,
  takenAt: number,
  context: { logger: Logger; clock: () => number },
): Lease {
  const { logger, clock } = context;
  const listeners = new Map<LeaseEvent, ((reason: string) => void)[]>();
  let state: Lease["state"] = "held";
  /** Monotonic start of the last successful renewal (or of the takeover). */
  let renewedAt = takenAt;
  let renewTimer: NodeJS.Timeout | undefined;
  let stepDownTimer: NodeJS.Timeout | undefined;
  let renewing = false;

  const emit = (event: LeaseEvent, reason: string) => {
    for (const callback of listeners.get(event) ?? []) callback(reason);
  };
  const stepDownAfterMs = timing.ttlMs - timing.stepDownMarginMs;

  const armStepDown = () => {
    clearTimeout(stepDownTimer);
    stepDownTimer = setTimeout(checkStepDown, Math.max(0, renewedAt + stepDownAfterMs - clock()));
    stepDownTimer.unref();
  };
  // Also run before each renewal: after a pause (SIGSTOP) the timers fire late, and suspension must come first.
  function checkStepDown(): void {
    if (state !== "held") return;
    const silentMs = clock() - renewedAt;
    if (silentMs < stepDownAfterMs) return armStepDown();
    suspend(`the lease was not renewed for ${Math.round(silentMs)} ms (step-down after ${stepDownAfterMs} ms)`);
  }
  function suspend(reason: string): void {
    state = "suspended";
    clearTimeout(stepDownTimer);
    logger.warn({ epoch, reason }, "database lease not renewed: suspending");
    emit("suspended", reason);
  }

  // The database went away under the lease (a restart, a lost node): renew at once, elsewhere if
  // need be; if even that fails, writes cannot land anyway, so stop them now rather than at the deadline.
  connection.onDropped = () => void renew({ urgent: true });

  const renew = async (options: { urgent?: boolean } = {}) => {
    if (renewing || state === "deposed" || state === "released") return;
    renewing = true;
    checkStepDown();
    const started = clock();
    try {
      const renewed = await connection.run((db) => renewLease(db, epoch, timing.ttlMs));
      if ((state as Lease["state"]) === "released") return;
      if (!renewed) {
        state = "deposed";
        clearTimeout(stepDownTimer);
        connection.drop();
        const reason = `another spider-storage took the database lease (this server's epoch ${epoch} is no longer current)`;
        logger.error({ epoch }, "database lease lost to another server");
        emit("deposed", reason);
        return;
      }
      renewedAt = started;
      if (state === "suspended") {
        state = "held";
        logger.warn({ epoch }, "database lease renewed again: resuming");
        emit("resumed", "the lease was renewed with this server's epoch: nobody else took over");
      }
      armStepDown();
    } catch (error) {
      logger.warn({ epoch, err: error }, "database lease renewal failed");
      if (options.urgent && state === "held") suspend(`the lease's database connection was lost and could not be reopened: ${(error as Error).message}`);
    } finally {
      renewing = false;
      if (state === "held" || state === "suspended") schedule();
    }
  };
  const schedule = () => {
    clearTimeout(renewTimer);
    renewTimer = setTimeout(() => void renew(), timing.renewIntervalMs);
    renewTimer.unref();
  };
  armStepDown();
  schedule();

  return {
    epoch,
    holder,
    timing,
    get state() {
      return state;
    },
    on(event, callback) {
      const callbacks = listeners.get(event) ?? [];
      callbacks.push(callback);
      listeners.set(event, callbacks);
    },
    checkNow() {
      checkStepDown();
      return state === "held";
    },
    async release() {
      if (state === "released") return;
      const wasLost = state === "deposed";
      state = "released";
      connection.onDropped = undefined;
      clearTimeout(renewTimer);
      clearTimeout(stepDownTimer);
      if (!wasLost) await connection.run((db) => releaseLease(db, epoch)).catch((error: unknown) => logger.warn({ epoch, err: error }, "could not release the database lease; it expires by itself"));
      connection.drop();
    },
  };
}
