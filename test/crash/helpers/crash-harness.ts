/**
 * The crash tests' harness: the real server as a child process on a private
 * MariaDB, always on the same port (the simulated clients reconnect and retry
 * UNAVAILABLE), started and SIGKILLed at will, with every log line collected
 * and every session id checked to increase strictly. Plus the seeded job mix
 * and failure injection shared by the crash tests, and the check that a job's
 * outputs come from one run per task when tasks are non-deterministic.
 */
import { createHash } from "node:crypto";
import type { JobState } from "../../../src/core/job-state.ts";
import { createDb, type Db } from "../../../src/db/connection.ts";
import { freePort } from "../../../testkit/free-port.ts";
import type { PrivateMariaDb } from "../../../testkit/mariadb.ts";
import { ServerProcess } from "../../../testkit/server-process.ts";
import { diamond, flat, layered, singleTask, wide, type JobSpec, type ShapeOptions } from "../../../testkit/sim/job-shapes.ts";
import { LogCollector } from "../../recovery/helpers/recovery-fixture.ts";
import { seededRandom } from "../../../src/core/seeded-random.ts";

/** The run's seed: SPIDER_CRASH_SEED reproduces a run. */
export function crashSeed(): number {
  const fromEnv = process.env["SPIDER_CRASH_SEED"];
  return fromEnv !== undefined && fromEnv !== "" ? Number(fromEnv) >>> 0 : Math.floor(Math.random() * 2 ** 31);
}

/** A number in [0, 1) from the seed and some words: the same inputs, the same number, in any run. */
export function hashUnit(seed: number, ...words: (string | number | bigint)[]): number {
  const digest = createHash("sha256").update(`${seed}|${words.join("|")}`).digest();
  return digest.readUInt32LE(0) / 2 ** 32;
}

export interface Life {
  readonly index: number;
  readonly server: ServerProcess;
  readonly logs: LogCollector;
  /** The session this process allocated (from its logs), once known. */
  session?: bigint;
}

export class CrashHarness {
  readonly url: string;
  readonly port: number;
  readonly db: Db;
  readonly lives: Life[] = [];
  readonly sessions: bigint[] = [];
  readonly #baseEnv: Record<string, string>;

  private constructor(url: string, port: number, baseEnv: Record<string, string>) {
    this.url = url;
    this.port = port;
    this.db = createDb({ url, maxConnections: 4 });
    this.#baseEnv = baseEnv;
  }

  static async create(mariadb: PrivateMariaDb, name: string, baseEnv: Record<string, string> = {}): Promise<CrashHarness> {
    const url = await mariadb.createDatabase(name);
    return new CrashHarness(url, await freePort(), baseEnv);
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  get current(): Life | undefined {
    return this.lives[this.lives.length - 1];
  }

  /** Starts the next life (the previous one must be dead). */
  async start(env: Record<string, string> = {}): Promise<Life> {
    if (this.current?.server.running) throw new Error("the previous server is still running");
    const server = await ServerProcess.start({ databaseUrl: this.url, port: this.port, env: { ...this.#baseEnv, ...env } });
    const life: Life = { index: this.lives.length, server, logs: new LogCollector(server) };
    this.lives.push(life);
    void life.logs.waitFor((r) => r.msg === "recovery started", 600_000).then(
      (r) => this.#noteSession(life, BigInt(String(r["session"]))),
      () => undefined,
    );
    return life;
  }

  async waitServing(life: Life, timeoutMs = 90_000): Promise<bigint> {
    const session = await life.server.waitServing(timeoutMs);
    this.#noteSession(life, session);
    return session;
  }

  async kill(): Promise<void> {
    await this.current?.server.kill();
  }

  async close(): Promise<void> {
    await this.current?.server.kill();
    await this.db.destroy();
  }

  #noteSession(life: Life, session: bigint): void {
    if (life.session !== undefined) return;
    life.session = session;
    this.sessions.push(session);
  }

  /** True when the sessions, in the order of the lives, strictly increase. */
  sessionsIncrease(): boolean {
    const inOrder = this.lives.map((l) => l.session).filter((s): s is bigint => s !== undefined);
    return inOrder.every((s, i) => i === 0 || s > inOrder[i - 1]!);
  }

  async jobStates(ids: readonly bigint[]): Promise<Map<bigint, { state: JobState; error: string | null }>> {
    const rows = ids.length === 0 ? [] : await this.db.selectFrom("jobs").select(["id", "state", "error_message"]).where("id", "in", ids).execute();
    return new Map(rows.map((r) => [r.id, { state: r.state, error: r.error_message }]));
  }

  async checkpointCounts(ids: readonly bigint[]): Promise<Map<bigint, number>> {
    if (ids.length === 0) return new Map();
    const rows = await this.db.selectFrom("task_checkpoints").select(["job_id"]).where("job_id", "in", ids).execute();
    const counts = new Map<bigint, number>();
    for (const r of rows) counts.set(r.job_id, (counts.get(r.job_id) ?? 0) + 1);
    return counts;
  }
}

export interface PlannedJob {
  readonly spec: JobSpec;
  readonly shape: string;
  readonly commit: boolean;
  readonly cleanup: boolean;
  /** Cancel this long after the start (ms), or never. */
  readonly cancelAfterMs: number | undefined;
  /** Register in one life, start in the next serving one (exercises loading Ready jobs on StartJob). */
  readonly deferStart: boolean;
}

/** A seeded mix of DAG shapes with commit and cleanup tasks, retries for injected failures, some cancels. */
export function planJobs(seed: number, count: number, options: { cancelShare?: number; deferShare?: number } = {}): PlannedJob[] {
  const random = seededRandom(seed);
  const policy = { maxNumRetry: 2 };
  const jobs: PlannedJob[] = [];
  for (let i = 0; i < count; i++) {
    const commit = random() < 0.3;
    const cleanup = random() < 0.3;
    const shapeOptions: ShapeOptions = { seed: seed + i, commit, cleanup, policy, commitPolicy: policy, cleanupPolicy: policy };
    const pick = Math.floor(random() * 5);
    let spec: JobSpec;
    let shape: string;
    switch (pick) {
      case 0:
        spec = singleTask(shapeOptions);
        shape = "single";
        break;
      case 1:
        spec = diamond(shapeOptions);
        shape = "diamond";
        break;
      case 2: {
        const width = 3 + Math.floor(random() * 3);
        spec = wide(width, shapeOptions);
        shape = `wide(${width})`;
        break;
      }
      case 3: {
        const count = 2 + Math.floor(random() * 3);
        spec = flat(count, shapeOptions);
        shape = `flat(${count})`;
        break;
      }
      default:
        spec = layered(3, 3, 2, random, shapeOptions);
        shape = "layered(3x3)";
    }
    const cancel = random() < (options.cancelShare ?? 0.12);
    jobs.push({
      spec,
      shape,
      commit,
      cleanup,
      cancelAfterMs: cancel ? Math.floor(random() * 2_000) : undefined,
      deferStart: random() < (options.deferShare ?? 0.08),
    });
  }
  return jobs;
}

