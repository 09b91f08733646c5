/**
 * Shared set-up of the recovery and crash tests: a migrated database with a
 * direct connection (to seed rows in any state, corrupt blobs, count
 * checkpoints), every JSON log line of a server process, and a hand-driven
 * execution manager for step-by-step scenarios.
 */
import * as grpc from "@grpc/grpc-js";
import { sql } from "kysely";
import { encodeTaskOutputs } from "../../../src/core/task-outputs.ts";
import { decodeWireFrame, encodeWireFrame } from "../../../src/core/wire-frame.ts";
import { createDb, type Db } from "../../../src/db/connection.ts";
import { migrateToLatest } from "../../../src/db/migrate.ts";
import type { JobState } from "../../../src/core/job-state.ts";
import type { TaskId } from "../../../src/gen/common/common_pb.ts";
import { seedResourceGroup } from "../../db/db-fixture.ts";
import type { ServerProcess } from "../../../testkit/server-process.ts";
import { compressInputs, withRetry } from "../../../testkit/sim/cluster.ts";
import { expectedJobOutputs, runTaskFunction } from "../../../testkit/sim/oracle.ts";
import type { JobSpec } from "../../../testkit/sim/job-shapes.ts";
import { outputCountOf } from "../../../testkit/sim/simulated-execution-manager.ts";
import { connectStorage, type StorageClients } from "../../../testkit/sim/storage-clients.ts";
import { testDatabase } from "../../../testkit/test-database.ts";

export { seedResourceGroup };

export interface MigratedDatabase {
  readonly url: string;
  readonly db: Db;
}

export async function migratedDatabase(prefix: string, url?: string): Promise<MigratedDatabase> {
  const databaseUrl = url ?? (await testDatabase(prefix));
  const db = createDb({ url: databaseUrl, maxConnections: 4 });
  await migrateToLatest(db);
  return { url: databaseUrl, db };
}

export interface SeededJob {
  readonly state: JobState;
  readonly spec: JobSpec;
  /** Job outputs to store (CommitReady); default: the oracle's. */
  readonly outputs?: Uint8Array | null;
}

/** Inserts jobs straight into the table in the given states, in multi-row statements; returns their ids in order. */
export async function insertJobs(db: Db, resourceGroupId: bigint, jobs: readonly SeededJob[]): Promise<bigint[]> {
  const ids: bigint[] = [];
  const blobs = new Map<JobSpec, { graph: Uint8Array; inputs: Uint8Array }>();
  for (let start = 0; start < jobs.length; start += 250) {
    const chunk = jobs.slice(start, start + 250);
    const values = chunk.map((job) => {
      let blob = blobs.get(job.spec);
      if (blob === undefined) blobs.set(job.spec, (blob = { graph: job.spec.builder.toCompressed(), inputs: compressInputs(job.spec.inputs) }));
      const outputs =
        job.outputs !== undefined ? job.outputs : job.state === "CommitReady" ? encodeTaskOutputs(expectedJobOutputs(job.spec.builder.build(), job.spec.inputs)) : null;
      return {
        resource_group_id: resourceGroupId,
        state: job.state,
        compressed_serialized_task_graph: Buffer.from(blob.graph),
        compressed_serialized_job_inputs: Buffer.from(blob.inputs),
        serialized_job_outputs: outputs === null ? null : Buffer.from(outputs),
      };
    });
    const result = await db.insertInto("jobs").values(values).executeTakeFirstOrThrow();
    // MariaDB hands a multi-row INSERT consecutive ids from the first one (innodb_autoinc_lock_mode ≤ 1 for a known row count).
    for (let i = 0; i < chunk.length; i++) ids.push(result.insertId! + BigInt(i));
  }
  return ids;
}

/** A task's outputs wire frame as the simulated execution managers would report it. */
export function oracleTaskOutputsFrame(spec: JobSpec, taskIndex: number): Uint8Array {
  const graph = spec.builder.build();
  const outputs: Uint8Array[][] = [];
  for (const task of graph.tasks.slice(0, taskIndex + 1)) {
    const inputs =
      task.inputSources === null
        ? spec.inputs.slice(task.graphInputOffset, task.graphInputOffset + task.inputCount)
        : task.inputSources.map((s) => outputs[s.taskIndex]![s.position]!);
    outputs.push(runTaskFunction(task.tdlContext.taskFunc, inputs, task.outputCount));
  }
  return encodeWireFrame(outputs[taskIndex]!);
}

export async function writeCheckpointRow(db: Db, jobId: bigint, taskIndex: number, outputs: Uint8Array): Promise<void> {
  await db.insertInto("task_checkpoints").values({ job_id: jobId, task_index: taskIndex, outputs: Buffer.from(outputs) }).execute();
}

export async function checkpointIndices(db: Db, jobId: bigint): Promise<number[]> {
  const rows = await db.selectFrom("task_checkpoints").select("task_index").where("job_id", "=", jobId).orderBy("task_index").execute();
  return rows.map((r) => Number(r.task_index));
}

export async function countAllCheckpoints(db: Db): Promise<number> {
  const row = await db.selectFrom("task_checkpoints").select(sql<bigint>`COUNT(*)`.as("n")).executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function jobRowState(db: Db, jobId: bigint): Promise<{ state: JobState; error: string | null }> {
  const row = await db.selectFrom("jobs").select(["state", "error_message"]).where("id", "=", jobId).executeTakeFirstOrThrow();
  return { state: row.state, error: row.error_message };
}

// ---- logs -----------------------------------------------------------------------------------

export type LogRecord = Record<string, unknown> & { msg?: string; level?: string };

/** Every JSON log line the server writes from now on (ServerProcess.logs keeps only a tail). */
export class LogCollector {
  readonly records: LogRecord[] = [];
  #partial = "";
  #waiters: { predicate: (r: LogRecord) => boolean; resolve: (r: LogRecord) => void }[] = [];

  constructor(server: ServerProcess) {
    const onData = (chunk: Buffer) => {
      const text = this.#partial + chunk.toString();
      const lines = text.split("\n");
      this.#partial = lines.pop() ?? "";
      for (const line of lines) {
        if (!line.startsWith("{")) continue;
        let record: LogRecord;
        try {
          record = JSON.parse(line) as LogRecord;
        } catch {
          continue;
        }
        this.records.push(record);
        this.#waiters = this.#waiters.filter((w) => {
          if (!w.predicate(record)) return true;
          w.resolve(record);
          return false;
        });
      }
    };
    server.child.stderr?.on("data", onData);
    server.child.stdout?.on("data", onData);
  }

  withMessage(msg: string): LogRecord[] {
    return this.records.filter((r) => r.msg === msg);
  }

  /** Resolves with the first record (already seen or future) matching. */
  waitFor(predicate: (r: LogRecord) => boolean, timeoutMs = 30_000): Promise<LogRecord> {
    const seen = this.records.find(predicate);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching log line after ${timeoutMs} ms`)), timeoutMs);
      this.#waiters.push({
        predicate,
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
      });
    });
  }
}

// ---- a hand-driven execution manager -------------------------------------------------------------

export type Lane = "pollReadyTasks" | "pollReadyCommitTasks" | "pollReadyCleanupTasks";

export interface PolledTask {
  readonly jobId: bigint;
  readonly taskId: TaskId;
  readonly sessionId: bigint;
}

export function indexTask(index: number): TaskId {
  return { kind: { case: "index", value: BigInt(index) } } as TaskId;
}
export const COMMIT_TASK = { kind: { case: "commit", value: {} } } as TaskId;
export const CLEANUP_TASK = { kind: { case: "cleanup", value: {} } } as TaskId;

/** One execution manager and one scheduler in a single object, driven step by step by a test. */
export class ManualWorker {
  readonly clients: StorageClients;
  emId = 0n;

  private constructor(address: string) {
    this.clients = connectStorage(address);
  }

  static async connect(address: string): Promise<ManualWorker> {
    const worker = new ManualWorker(address);
    const response = await retrying(() => worker.clients.liveness.registerExecutionManager({ ipAddress: "127.0.0.1" }));
    worker.emId = response.registration!.executionManagerId;
    return worker;
  }

  close(): void {
    this.clients.close();
  }

  async session(): Promise<bigint> {
    return (await retrying(() => this.clients.sessions.getSession({}))).sessionId;
  }

  /** Every entry of a lane (polls until a poll comes back empty). */
  async drain(lane: Lane, waitMs = 200): Promise<PolledTask[]> {
    const out: PolledTask[] = [];
    for (;;) {
      const response = await retrying(() => this.clients.queue[lane]({ maxItems: 1000n, waitMs: BigInt(waitMs) }));
      const tasks = response.tasks!;
      if (tasks.tasks.length === 0) return out;
      for (const t of tasks.tasks) out.push({ jobId: t.jobId, taskId: t.taskId!, sessionId: tasks.sessionId });
      waitMs = 50;
    }
  }

  register(jobId: bigint, taskId: TaskId, sessionId: bigint) {
    return this.clients.tasks.registerTaskInstance({ jobId, taskId, executionManagerId: this.emId, sessionId });
  }

  /** Registers and succeeds one task with the oracle's outputs; returns the job state after (ReportTaskSuccess answers Void). */
  async run(jobId: bigint, taskId: TaskId, sessionId: bigint): Promise<{ state: number; outputs: Uint8Array }> {
    const response = await this.register(jobId, taskId, sessionId);
    const context = response.executionContext!;
    let outputs = new Uint8Array();
    if (taskId.kind.case === "index") {
      const taskFunc = context.tdlContext?.taskFunc ?? "";
      outputs = encodeWireFrame(runTaskFunction(taskFunc, decodeWireFrame(context.serializedTaskIo), outputCountOf(taskFunc)));
    }
    await this.clients.tasks.reportTaskSuccess({
      jobId,
      taskId,
      taskInstanceId: context.taskInstanceId,
      executionManagerId: this.emId,
      sessionId,
      serializedOutputs: outputs,
    });
    return { state: (await this.clients.jobs.getJobState({ jobId })).state, outputs };
  }
}

/** Retries a call while the server answers UNAVAILABLE (starting, recovering). */
export const retrying = withRetry;

export function grpcCode(error: unknown): number | undefined {
  return typeof error === "object" && error !== null && "code" in error ? (error as grpc.ServiceError).code : undefined;
}
