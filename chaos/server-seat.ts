/**
 * A seat for one storage server: a fixed port and database URL, filled by a
 * succession of server processes ("lives") — started, SIGKILLed, started
 * again on the same port so that clients simply reconnect. Each life records
 * its session (from "recovery started"), when it served, and how it ended: a
 * life that exits without a signal of ours is a crash.
 */
import { ServerProcess } from "../testkit/server-process.ts";
import { createPromiseClient } from "../src/grpc/adapter.ts";
import { InspectionService, type GetStatusResponse } from "../src/gen/admin/admin_pb.ts";
import { LogWatch, RECOVERY_STARTED, SERVING } from "./log-watch.ts";

export interface Life {
  readonly index: number;
  readonly server: ServerProcess;
  readonly logs: LogWatch;
  readonly spawnedAt: number;
  /** The session it allocated, once known. */
  session: bigint | undefined;
  /** When its log first said "serving". */
  servingAt: number | undefined;
  /** Set just before we signal it (SIGKILL, or SIGTERM at the end). */
  endedByUs: boolean;
  /** How it exited, once it has. */
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
}

export interface Crash {
  readonly seat: string;
  readonly life: number;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly logTail: string;
}

export class ServerSeat {
  readonly name: string;
  readonly port: number;
  readonly databaseUrl: string;
  readonly lives: Life[] = [];
  readonly crashes: Crash[] = [];
  readonly #baseEnv: Record<string, string>;
  readonly #echo: boolean;

  constructor(name: string, port: number, databaseUrl: string, baseEnv: Record<string, string>, echo = false) {
    this.name = name;
    this.port = port;
    this.databaseUrl = databaseUrl;
    this.#baseEnv = baseEnv;
    this.#echo = echo;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  get current(): Life | undefined {
    return this.lives.at(-1);
  }

  get running(): boolean {
    return this.current?.server.running ?? false;
  }

  get pid(): number {
    const pid = this.current?.server.child.pid;
    if (pid === undefined) throw new Error(`server ${this.name} has no process`);
    return pid;
  }

  /** Starts the next life (the previous one must have ended). */
  async start(env: Record<string, string> = {}): Promise<Life> {
    if (this.running) throw new Error(`server ${this.name} is still running`);
    const server = await ServerProcess.start({ databaseUrl: this.databaseUrl, port: this.port, env: { ...this.#baseEnv, ...env }, echoLogs: this.#echo });
    const life: Life = { index: this.lives.length, server, logs: new LogWatch(server), spawnedAt: Date.now(), session: undefined, servingAt: undefined, endedByUs: false, exit: undefined };
    this.lives.push(life);
    void life.logs.waitFor((r) => r.msg === RECOVERY_STARTED && r["session"] !== undefined, 3_600_000).then(
      (r) => (life.session ??= BigInt(String(r["session"]))),
      () => undefined,
    );
    void life.logs.waitFor((r) => r.msg === SERVING, 3_600_000).then(
      (r) => {
        life.servingAt ??= typeof r.time === "number" ? r.time : Date.now();
        if (r["session"] !== undefined) life.session ??= BigInt(String(r["session"]));
      },
      () => undefined,
    );
    void server.exited.then((exit) => {
      life.exit = exit;
      if (!life.endedByUs) this.crashes.push({ seat: this.name, life: life.index, code: exit.code, signal: exit.signal, logTail: life.logs.tail(60) });
    });
    return life;
  }

  async kill(): Promise<void> {
    const life = this.current;
    if (!life || !life.server.running) return;
    life.endedByUs = true;
    await life.server.kill();
  }

  /** SIGTERM (clean stop) at the end of a phase. */
  async stop(): Promise<void> {
    const life = this.current;
    if (!life || !life.server.running) return;
    life.endedByUs = true;
    try {
      process.kill(life.server.child.pid!, "SIGCONT"); // a frozen process acts on SIGTERM only once thawed
    } catch {
      // gone
    }
    await life.server.stop(15_000);
  }

  /** The admin API's status of the current life (loopback: no token). */
  async status(timeoutMs = 5_000): Promise<GetStatusResponse> {
    const client = createPromiseClient(InspectionService, this.address);
    try {
      return await client.getStatus({}, { deadlineMs: timeoutMs });
    } finally {
      client.close();
    }
  }

  /** The sessions of the lives, in order (lives killed before allocating one have none). */
  sessions(): bigint[] {
    return this.lives.map((l) => l.session).filter((s): s is bigint => s !== undefined);
  }
}

/** True when the sessions strictly increase. */
export function strictlyIncreasing(sessions: readonly bigint[]): boolean {
  return sessions.every((s, i) => i === 0 || s > sessions[i - 1]!);
}
