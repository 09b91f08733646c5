/**
 * A seeded workload for the fault-injection and outage tests: a stream of
 * jobs of mixed shapes submitted through the storage protocol as a careful
 * client would (retrying UNAVAILABLE; after an INTERNAL — unknown outcome —
 * re-reading instead of blindly repeating), the execution managers'
 * behaviour for them, and the final check: every job terminal, succeeded
 * jobs with exactly the oracle's outputs and exactly one acknowledged success
 * per task (no duplicated commit of a task's or a job's outputs), doomed jobs
 * Failed with their message, no job row duplicated.
 *
 * Three kinds of job: "normal" (no retries allowed — so a report that the
 * database could not take must not cost a retry, D6, or the job fails),
 * "flaky" (task 0 fails on its first run; two retries) and "doomed" (task 0
 * always fails; one retry).
 */
import { setTimeout as sleep } from "node:timers/promises";
import * as grpc from "@grpc/grpc-js";
import { sql } from "kysely";
import { expect } from "vitest";
import type { Db } from "../../src/db/connection.ts";
import { JobState } from "../../src/gen/storage/storage_pb.ts";
import { compressInputs, jobOutputs, oracleOutputs, waitForJobs, withRetry } from "../../testkit/sim/cluster.ts";
import { diamond, flat, layered, singleTask, wide, type JobSpec, type ShapeOptions } from "../../testkit/sim/job-shapes.ts";
import type { Behaviour, ExecutionLog } from "../../testkit/sim/simulated-execution-manager.ts";
import { statusCode, type StorageClients } from "../../testkit/sim/storage-clients.ts";
import { seededRandom } from "../../src/core/seeded-random.ts";

export type JobKind = "normal" | "flaky" | "doomed";

export interface WorkloadJob {
  readonly id: bigint;
  readonly spec: JobSpec;
  readonly kind: JobKind;
  readonly taskCount: number;
  readonly hasCommit: boolean;
}

export const DOOMED_MESSAGE = "doomed task";

export class JobWorkload {
  readonly seed: number;
  readonly jobs: WorkloadJob[] = [];
  /** RegisterJob calls answered INTERNAL: each may have left a job row nobody knows (D16). */
  unknownRegistrations = 0;
  readonly #random: () => number;
  readonly #kinds = new Map<bigint, JobKind>();
  readonly #clients: StorageClients;
  readonly #maxTaskDelayMs: number;
  #resourceGroup = 0n;
  #counter = 0;

  constructor(clients: StorageClients, seed: number, options: { maxTaskDelayMs?: number } = {}) {
    this.#clients = clients;
    this.seed = seed;
    this.#random = seededRandom(seed);
    this.#maxTaskDelayMs = options.maxTaskDelayMs ?? 0;
  }

  /** What the simulated execution managers do with this workload's tasks. */
  readonly behaviour: Behaviour = (context) => {
    const kind = this.#kinds.get(context.jobId) ?? "normal";
    const delayMs = this.#maxTaskDelayMs > 0 ? Math.floor(Math.random() * this.#maxTaskDelayMs) : 0;
    const isTaskZero = context.key === `${context.jobId}/0`;
    if (kind === "doomed" && isTaskZero) return { kind: "fail", message: DOOMED_MESSAGE, delayMs };
    if (kind === "flaky" && isTaskZero && context.attempt === 0) return { kind: "fail", message: "flaky first run", delayMs };
    return { kind: "succeed", delayMs };
  };

  async createResourceGroup(): Promise<void> {
    const response = await withRetry(() =>
      this.#clients.resourceGroups.addResourceGroup({
        externalResourceGroupId: `workload-${this.seed}-${Math.random().toString(36).slice(2)}`,
        password: new TextEncoder().encode("secret"),
      }),
    );
    this.#resourceGroup = response.resourceGroupId;
  }

  /** Submits `count` jobs one after another. */
  async submit(count: number): Promise<void> {
    for (let i = 0; i < count; i++) await this.submitOne();
  }

  /** Submits jobs every `intervalMs` until `signal` aborts. */
  async submitUntil(signal: AbortSignal, intervalMs: number): Promise<void> {
    while (!signal.aborted) {
      await this.submitOne();
      await sleep(intervalMs);
    }
  }

  async submitOne(): Promise<WorkloadJob> {
    const n = this.#counter++;
    const kindDraw = this.#random();
    const kind: JobKind = kindDraw < 0.1 ? "doomed" : kindDraw < 0.3 ? "flaky" : "normal";
    const policy = kind === "normal" ? { maxNumRetry: 0 } : kind === "flaky" ? { maxNumRetry: 2 } : { maxNumRetry: 1 };
    const options: ShapeOptions = { seed: this.seed * 100_000 + n, policy, commit: this.#random() < 0.4, cleanup: this.#random() < 0.2 };
    const shapes = [
      () => singleTask(options),
      () => diamond(options),
      () => wide(5, options),
      () => flat(4, options),
      () => layered(3, 4, 2, seededRandom(this.seed + n), options),
    ];
    const spec = shapes[Math.floor(this.#random() * shapes.length)]!();
    const id = await this.#register(spec);
    this.#kinds.set(id, kind);
    await this.#start(id);
    const graph = spec.builder.build();
    const job: WorkloadJob = { id, spec, kind, taskCount: graph.tasks.length, hasCommit: graph.commitTask !== null };
    this.jobs.push(job);
    return job;
  }

  async #register(spec: JobSpec): Promise<bigint> {
    for (;;) {
      try {
        const response = await withRetry(() =>
          this.#clients.jobs.registerJob({
            resourceGroupId: this.#resourceGroup,
            compressedSerializedTaskGraph: spec.builder.toCompressed(),
            compressedSerializedInputs: compressInputs(spec.inputs),
          }),
        );
        return response.jobId;
      } catch (error) {
        if (statusCode(error) !== grpc.status.INTERNAL) throw error;
        // Unknown outcome: a row may exist that we cannot name. Submit again.
        this.unknownRegistrations++;
      }
    }
  }

  async #start(jobId: bigint): Promise<void> {
    for (;;) {
      try {
        await withRetry(() => this.#clients.jobs.startJob({ jobId }));
        return;
      } catch (error) {
        const code = statusCode(error);
        if (code !== grpc.status.INTERNAL && code !== grpc.status.FAILED_PRECONDITION) throw error;
        // Unknown outcome (or a retry of a start that did happen): look before starting again.
        const state = await withRetry(() => this.#clients.jobs.getJobState({ jobId }));
        if (state.state !== JobState.READY) return;
      }
    }
  }

  /**
   * Waits for every job and checks it. `log` is the cluster's execution log;
   * `db`, when given, is checked for job rows nobody submitted knowingly.
   */
  async verify(log: ExecutionLog, options: { timeoutMs?: number; db?: Db } = {}): Promise<void> {
    const ids = this.jobs.map((job) => job.id);
    const states = await waitForJobs(this.#clients, ids, options.timeoutMs ?? 60_000);
    for (const job of this.jobs) {
      const where = `job ${job.id} (${job.kind}, seed ${this.seed})`;
      if (job.kind === "doomed") {
        expect(states.get(job.id), where).toBe("Failed");
        const error = await withRetry(() => this.#clients.jobs.getJobError({ jobId: job.id }));
        expect(error.errorMessage, where).toContain(DOOMED_MESSAGE);
        continue;
      }
      expect(states.get(job.id), where).toBe("Succeeded");
      expect(await jobOutputs(this.#clients, job.id), where).toEqual(oracleOutputs(job.spec));
      // Exactly one acknowledged success per task: a task's (or the job's) outputs are never committed twice.
      for (let index = 0; index < job.taskCount; index++) {
        expect(log.successesReported.get(`${job.id}/${index}`) ?? 0, `${where} task ${index}`).toBe(1);
      }
      if (job.hasCommit) expect(log.successesReported.get(`${job.id}/commit`) ?? 0, `${where} commit`).toBe(1);
    }
    expect(log.protocolErrors, "the execution managers saw only statuses Spider's EM tolerates").toEqual([]);
    if (options.db) {
      // Every row is a job we know, or one left by an INTERNAL RegisterJob — never started.
      const rows = await sql<{ id: bigint; state: string }>`SELECT id, state FROM jobs WHERE resource_group_id = ${this.#resourceGroup}`.execute(options.db);
      const known = new Set(ids);
      const unknown = rows.rows.filter((row) => !known.has(BigInt(row.id)));
      expect(unknown.length).toBeLessThanOrEqual(this.unknownRegistrations);
      for (const row of unknown) expect(row.state, `unknown job ${row.id}`).toBe("Ready");
    }
  }

  /** One line for the test log. */
  summary(): string {
    const byKind = { normal: 0, flaky: 0, doomed: 0 };
    for (const job of this.jobs) byKind[job.kind]++;
    return `seed ${this.seed}: ${this.jobs.length} jobs (${byKind.normal} normal, ${byKind.flaky} flaky, ${byKind.doomed} doomed), ${this.unknownRegistrations} RegisterJob INTERNAL`;
  }
}
