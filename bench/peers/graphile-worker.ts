/**
 * graphile-worker on the local PostgreSQL (the bench's own database, a fresh
 * schema per run, dropped after; synchronous_commit asked for and read back),
 * with its performance page's batched settings: a local queue of 500 and
 * complete/fail batch delays 0, maxPoolSize = concurrency + 1 (the page runs
 * 24 with a pool of 25; here 16 jobs at once, as every system).
 *
 * graphile-worker keeps no job results: the task writes its ~100-byte result
 * itself, `INSERT INTO w1_results` through the job's helpers (one autocommit
 * statement per job), which is how a graphile-worker user keeps one.
 *
 * Completion is counted from the database, not from `job:success` (which fires
 * before the batched DELETE that completes the job is committed): a job is
 * complete once its row is gone from `_private_jobs` (that DELETE committed).
 * Capacity: rows left after the last producer finished, polled every 5 ms.
 * Latency: after a job's `job:success`, its id is looked up every ~1 ms until
 * the row is gone (the event only says when to start looking).
 */
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { makeWorkerUtils, run } from "graphile-worker";
import { CompletionWaiters } from "../lib/closed-loop.ts";
import { ensurePostgresDatabase, packageVersion, postgresUrl, readPostgresDurability, withSynchronousCommit, type PeerHarness, type PeerOptions, type PeerProducer } from "./harness.ts";
import { payload, result } from "./payload.ts";

const schemaOf = (runId: string) => `gw_bench_${runId.replace(/[^a-z0-9_]/gi, "_")}`;

export async function createGraphileWorker(options: PeerOptions): Promise<PeerHarness> {
  await ensurePostgresDatabase();
  const schema = schemaOf(options.runId);
  const connectionString = withSynchronousCommit(postgresUrl());
  const client = new pg.Client({ connectionString });
  await client.connect();
  await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}_results"`);
  await client.query(`CREATE TABLE "${schema}_results".w1_results (job_id bigint PRIMARY KEY, result text NOT NULL)`);
  const resultsTable = `"${schema}_results".w1_results`;

  const runner = await run({
    connectionString,
    schema,
    concurrency: options.workerConcurrency,
    maxPoolSize: options.workerConcurrency + 1,
    noHandleSignals: true,
    pollInterval: 2_000,
    logger: quietLogger(),
    taskList: {
      w1: async (data, helpers) => {
        await helpers.query(`INSERT INTO ${resultsTable} (job_id, result) VALUES ($1, $2)`, [helpers.job.id, JSON.stringify(result((data as { i: number }).i))]);
      },
    },
    preset: { worker: { localQueue: { size: 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 } },
  });
  const utils = await makeWorkerUtils({ connectionString, schema });

  // Latency mode: ids whose job:success fired, confirmed once their row is gone.
  const waiters = new CompletionWaiters<string>();
  const confirming = new Set<string>();
  let watching = false;
  const confirmLoop = async () => {
    if (watching) return;
    watching = true;
    try {
      while (confirming.size > 0) {
        const ids = [...confirming];
        const { rows } = await client.query(`SELECT id::text AS id FROM "${schema}"._private_jobs WHERE id = ANY($1::bigint[])`, [ids]);
        const left = new Set((rows as { id: string }[]).map((r) => r.id));
        for (const id of ids) {
          if (!left.has(id)) {
            confirming.delete(id);
            waiters.complete(id);
          }
        }
        if (confirming.size > 0) await sleep(1);
      }
    } finally {
      watching = false;
    }
  };
  let watchSuccesses = false;
  runner.events.on("job:success", ({ job }) => {
    if (!watchSuccesses) return;
    confirming.add(String(job.id));
    void confirmLoop();
  });

  return {
    name: "graphile-worker",
    settings: {
      version: await packageVersion("graphile-worker"),
      concurrency: options.workerConcurrency,
      maxPoolSize: options.workerConcurrency + 1,
      localQueueSize: 500,
      completeJobBatchDelay: 0,
      failJobBatchDelay: 0,
      result: "task INSERTs a ~100-byte row into its own results table (graphile-worker keeps no results)",
    },
    durability: await readPostgresDurability(connectionString),
    completionSignal: "the job's row gone from _private_jobs (its DELETE committed, synchronous_commit on); not job:success, which fires before that DELETE",
    store: { command: "postgres", note: "every postgres process on the machine (shared server; others may use it)" },
    async enqueue(index) {
      watchSuccesses = true;
      const job = await utils.addJob("w1", payload(index));
      return String(job.id);
    },
    waitDurable: (key) => waiters.wait(key),
    async durableCount(produced) {
      const { rows } = await client.query(`SELECT count(*)::int AS n FROM "${schema}"._private_jobs`);
      return { count: produced - (rows[0] as { n: number }).n, lastAt: performance.now() };
    },
    async resetCount() {
      // The capacity mode counts rows, not events: stop looking up ids after job:success (it would
      // add queries to graphile-worker's database while its capacity is measured).
      watchSuccesses = false;
      confirming.clear();
      // Only jobs enqueued after this count: wait until the table is empty (every earlier job done).
      const deadline = performance.now() + 60_000;
      for (;;) {
        const { rows } = await client.query(`SELECT count(*)::int AS n FROM "${schema}"._private_jobs`);
        if ((rows[0] as { n: number }).n === 0) return;
        if (performance.now() > deadline) throw new Error("graphile-worker: jobs left in the table after 60 s");
        await sleep(5);
      }
    },
    async close() {
      await runner.stop();
      await utils.release();
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
      await client.query(`DROP SCHEMA IF EXISTS "${schema}_results" CASCADE`).catch(() => undefined);
      await client.end();
    },
  };
}

export async function createGraphileWorkerProducer(options: PeerOptions): Promise<PeerProducer> {
  const utils = await makeWorkerUtils({ connectionString: withSynchronousCommit(postgresUrl()), schema: schemaOf(options.runId) });
  return {
    async enqueue(index) {
      const job = await utils.addJob("w1", payload(index));
      return String(job.id);
    },
    close: async () => {
      await utils.release();
    },
  };
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
