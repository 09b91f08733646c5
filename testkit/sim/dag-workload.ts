/**
 * A seeded stream of DAG jobs for failover tests: diamonds, fan-in (`wide`)
 * and layered graphs with fan-out and fan-in, half of them with a commit
 * task; tasks take 50-350 ms so that jobs are in flight when a server or a
 * database node dies. Submitted through a {@link SimulatedCluster} (whose
 * clients may fail over between servers) and checked against the oracle:
 * every job SUCCEEDED with exactly the outputs the oracle computes.
 *
 * Jobs are submitted in waves, each wave only while no failover is under
 * way: RegisterJob has no idempotency key (D16), so a registration whose
 * answer is lost with a killed server could leave a job nobody knows.
 */
import { seededRandom } from "../../src/core/seeded-random.ts";
import { JobState } from "../../src/gen/storage/storage_pb.ts";
import { addResourceGroup, jobOutputs, oracleOutputs, registerJob, withRetry, type SimulatedCluster } from "./cluster.ts";
import { diamond, layered, wide, type JobSpec, type ShapeOptions } from "./job-shapes.ts";
import type { Behaviour } from "./simulated-execution-manager.ts";
import { waitFor } from "../wait-for.ts";

export interface DagJob {
  readonly id: bigint;
  readonly spec: JobSpec;
  readonly shape: string;
  readonly commit: boolean;
  readonly tasks: number;
}

export interface DagJobResult {
  readonly job: DagJob;
  readonly state: JobState;
  /** Empty unless SUCCEEDED. */
  readonly outputs: readonly string[];
  readonly expected: readonly string[];
}

export class DagWorkload {
  readonly jobs: DagJob[] = [];
  readonly #cluster: SimulatedCluster;
  readonly #random: () => number;
  readonly #seed: number;
  #resourceGroup: bigint | undefined;

  constructor(cluster: SimulatedCluster, seed: number) {
    this.#cluster = cluster;
    this.#seed = seed;
    this.#random = seededRandom(seed);
  }

  /** Every task succeeds after 50-350 ms (varying with the task and its attempt). */
  readonly behaviour: Behaviour = (context) => {
    const jitter = seededRandom(this.#seed ^ Number(context.jobId % 1_000_000n) ^ (context.attempt * 7919) ^ hashKey(context.key))();
    return { kind: "succeed", delayMs: 50 + Math.floor(jitter * 300) };
  };

  /** Task successes the execution managers have had acknowledged so far (over every job). */
  get acknowledged(): number {
    let total = 0;
    for (const count of this.#cluster.log.successesReported.values()) total += count;
    return total;
  }

  /** Commit-task successes acknowledged to the execution managers, per job. */
  acknowledgedCommits(jobId: bigint): number {
    return this.#cluster.log.successesReported.get(`${jobId}/commit`) ?? 0;
  }

  async submitWave(count: number): Promise<DagJob[]> {
    this.#resourceGroup ??= await addResourceGroup(this.#cluster.clients);
    const wave: DagJob[] = [];
    for (let i = 0; i < count; i++) {
      const n = this.jobs.length;
      const commit = this.#random() < 0.5;
      const options: ShapeOptions = { seed: this.#seed * 10_000 + n, commit, policy: { maxNumRetry: 2 }, commitPolicy: { maxNumRetry: 2 } };
      const pick = Math.floor(this.#random() * 3);
      const [shape, spec] =
        pick === 0
          ? ["diamond", diamond(options)]
          : pick === 1
            ? [`wide(4)`, wide(4, options)]
            : [`layered(3x3)`, layered(3, 3, 2, seededRandom(this.#seed + n), options)];
      const id = await registerJob(this.#cluster.clients, this.#resourceGroup, spec);
      await withRetry(() => this.#cluster.clients.jobs.startJob({ jobId: id }));
      const job: DagJob = { id, spec, shape, commit, tasks: spec.builder.build().tasks.length };
      this.jobs.push(job);
      wave.push(job);
    }
    return wave;
  }

  /** Resolves once `more` task successes beyond `from` have been acknowledged. */
  async waitAcknowledged(from: number, more: number, timeoutMs = 60_000): Promise<void> {
    await waitFor(`${more} more acknowledged task successes (from ${from}; now ${this.acknowledged})`, () => this.acknowledged >= from + more, { timeoutMs, intervalMs: 10 });
  }

  /** Waits for `jobs` (default all) to be terminal, then reads their outputs. */
  async results(jobs: readonly DagJob[] = this.jobs, timeoutMs = 90_000): Promise<DagJobResult[]> {
    const clients = this.#cluster.clients;
    const states = new Map<bigint, JobState>();
    await waitFor(
      () => `${jobs.length - states.size} of ${jobs.length} jobs to end`,
      async () => {
        for (const job of jobs) {
          if (states.has(job.id)) continue;
          const { state } = await withRetry(() => clients.jobs.getJobState({ jobId: job.id }));
          if (state === JobState.SUCCEEDED || state === JobState.FAILED || state === JobState.CANCELLED) states.set(job.id, state);
        }
        return states.size === jobs.length;
      },
      { timeoutMs, intervalMs: 100 },
    );
    const results: DagJobResult[] = [];
    for (const job of jobs) {
      const state = states.get(job.id)!;
      const outputs = state === JobState.SUCCEEDED ? await jobOutputs(clients, job.id) : [];
      results.push({ job, state, outputs, expected: oracleOutputs(job.spec) });
    }
    return results;
  }
}

function hashKey(key: string): number {
  let h = 0;
  for (let i = 0; i < key.length; i++) h = (Math.imul(h, 31) + key.charCodeAt(i)) | 0;
  return h;
}
