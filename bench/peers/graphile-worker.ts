/**
 * graphile-worker on the local PostgreSQL (synchronous_commit on), in a fresh
 * schema per run (dropped after). D17's settings: concurrency 16, a local
 * queue of 500, complete/fail batch delays 0. graphile-worker keeps no job
 * results, so the task returns nothing.
 *
 * Its `job:success` event fires before the completion is written (the write is
 * batched, fire-and-forget), so latencies are taken at that event (which
 * flatters graphile-worker slightly) and throughput only ends once the jobs
 * table is empty, i.e. every completion is committed.
 */
import pg from "pg";
import { run } from "graphile-worker";
import { CompletionWaiters } from "../lib/closed-loop.ts";
import { packageVersion } from "./bullmq.ts";
import { POSTGRES_URL, type PeerHarness, type PeerOptions } from "./harness.ts";
import { waitFor } from "../../testkit/wait-for.ts";

export async function createGraphileWorker(options: PeerOptions): Promise<PeerHarness> {
  const schema = `gw_bench_${options.runId.replace(/[^a-z0-9_]/gi, "_")}`;
  const connectionString = withSynchronousCommit(POSTGRES_URL);
  const waiters = new CompletionWaiters<number>();
  const runner = await run({
    connectionString,
    schema,
    concurrency: options.workerConcurrency,
    // One connection per concurrent job plus one, as graphile-worker's own warning asks.
    maxPoolSize: options.workerConcurrency + 1,
    noHandleSignals: true,
    pollInterval: 2_000,
    logger: quietLogger(),
    taskList: { w1: async () => undefined },
    preset: { worker: { localQueue: { size: 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 } },
  });
  runner.events.on("job:success", ({ job }) => waiters.complete((job.payload as { i: number }).i));
  const client = new pg.Client({ connectionString });
  await client.connect();

  return {
    name: "graphile-worker",
    settings: { version: await packageVersion("graphile-worker"), concurrency: options.workerConcurrency, maxPoolSize: options.workerConcurrency + 1, localQueueSize: 500, completeJobBatchDelay: 0, failJobBatchDelay: 0, synchronous_commit: "on" },
    completionSignal: "'job:success' event (fires before the batched completion write); throughput waits until the jobs table is empty",
    async runJob(index) {
      const done = waiters.wait(index);
      await runner.addJob("w1", { i: index });
      await done;
    },
    async drain() {
      await waitFor(
        "graphile-worker to complete its jobs after the last success event",
        async () => {
          const result = await client.query(`SELECT count(*)::int AS n FROM "${schema}"._private_jobs`);
          return (result.rows[0] as { n: number }).n === 0;
        },
        { timeoutMs: 30_000, intervalMs: 2 },
      );
    },
    async close() {
      await runner.stop();
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
      await client.end();
    },
  };
}

export function withSynchronousCommit(url: string): string {
  const u = new URL(url);
  u.searchParams.set("options", "-c synchronous_commit=on");
  return u.toString();
}

function quietLogger() {
  // graphile-worker logs every completed job at info: keep only warnings and errors.
  return {
    scope: () => quietLogger(),
    debug: () => undefined,
    info: () => undefined,
    warn: (message: string) => console.error(`graphile-worker: ${message}`),
    error: (message: string) => console.error(`graphile-worker: ${message}`),
  } as never;
}
