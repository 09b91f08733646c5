/**
 * pg-boss on the local PostgreSQL (the bench's own database, a fresh schema
 * per run, dropped after; synchronous_commit asked for and read back), with
 * its fastest documented way of working: batched fetches (`batchSize` 8 on
 * each of `localConcurrency` 2 workers: 16 jobs at once), `perJobResults` so a
 * whole batch is settled by one statement that stores each job's own ~100-byte
 * output, a queue with `notify` and LISTEN/NOTIFY on, polling at its 0.5 s
 * minimum as the backstop.
 *
 * pg-boss has no completion event: a job counts as complete when pg-boss's own
 * completion statement (UPDATE … SET completed_on …, autocommit, so committed
 * when it returns) has returned, seen by wrapping the instance's `executeSql`
 * (no extra query).
 */
import { PgBoss } from "pg-boss";
import { CompletionWaiters } from "../lib/closed-loop.ts";
import { ensurePostgresDatabase, packageVersion, postgresUrl, readPostgresDurability, withSynchronousCommit, type PeerHarness, type PeerOptions, type PeerProducer } from "./harness.ts";
import { payload, result } from "./payload.ts";

const QUEUE = "bench_w1";
const BATCH_SIZE = 8;
const schemaOf = (runId: string) => `pgboss_bench_${runId.replace(/[^a-z0-9_]/gi, "_")}`;

/** Ids a completion statement settled: a JSON recordset of {id, …} (perJobResults) or an array of ids. */
function completedIds(text: string, values: unknown[] | undefined): string[] {
  if (!values || !/SET completed_on = /.test(text) || !/state = 'completed'/.test(text)) return [];
  const ids = values[1];
  if (Array.isArray(ids)) return ids as string[];
  if (typeof ids === "string" && ids.startsWith("[")) return (JSON.parse(ids) as { id: string }[]).map((x) => x.id);
  return [];
}

export async function createPgBoss(options: PeerOptions): Promise<PeerHarness> {
  await ensurePostgresDatabase();
  const schema = schemaOf(options.runId);
  const connectionString = withSynchronousCommit(postgresUrl());
  const localConcurrency = Math.max(1, Math.round(options.workerConcurrency / BATCH_SIZE));
  const boss = new PgBoss({ connectionString, schema, useListenNotify: true, max: localConcurrency + 4 });
  boss.on("error", (error: Error) => console.error(`pg-boss error: ${error.message}`));
  await boss.start();
  await boss.createQueue(QUEUE, { notify: true });

  const waiters = new CompletionWaiters<string>();
  const counted = { count: 0, lastAt: 0 };
  const db = boss.getDb() as { executeSql(text: string, values?: unknown[]): Promise<unknown> };
  const executeSql = db.executeSql.bind(db);
  db.executeSql = async (text: string, values?: unknown[]) => {
    const response = await executeSql(text, values);
    const ids = completedIds(text, values);
    if (ids.length > 0) {
      const at = performance.now();
      for (const id of ids) {
        counted.count++;
        counted.lastAt = at;
        waiters.complete(id);
      }
    }
    return response;
  };

  await boss.work<{ i: number }>(
    QUEUE,
    { batchSize: BATCH_SIZE, localConcurrency, perJobResults: true, pollingIntervalSeconds: 0.5 },
    async (jobs) => jobs.map((job) => ({ id: job.id, status: "completed" as const, output: result(job.data.i) })),
  );

  return {
    name: "pg-boss",
    settings: { version: await packageVersion("pg-boss"), batchSize: BATCH_SIZE, localConcurrency, perJobResults: true, queueNotify: true, useListenNotify: true, pollingIntervalSeconds: 0.5, poolMax: localConcurrency + 4 },
    durability: await readPostgresDurability(connectionString),
    completionSignal: "pg-boss's own completion UPDATE returned (autocommit with synchronous_commit on: committed), seen by wrapping its executeSql",
    store: { command: "postgres", note: "every postgres process on the machine (shared server; others may use it)" },
    async enqueue(index) {
      const id = await boss.send(QUEUE, payload(index));
      if (!id) throw new Error("pg-boss send returned no id");
      return id;
    },
    waitDurable: (key) => waiters.wait(key),
    async durableCount() {
      return { ...counted };
    },
    async resetCount() {
      counted.count = 0;
      counted.lastAt = 0;
    },
    async close() {
      await boss.stop({ graceful: true, timeout: 5_000 });
      const { Client } = (await import("pg")).default;
      const client = new Client({ connectionString: postgresUrl() });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
      await client.end();
    },
  };
}

export async function createPgBossProducer(options: PeerOptions): Promise<PeerProducer> {
  const boss = new PgBoss({ connectionString: withSynchronousCommit(postgresUrl()), schema: schemaOf(options.runId), supervise: false, schedule: false, migrate: false, max: 4 });
  boss.on("error", (error: Error) => console.error(`pg-boss producer error: ${error.message}`));
  await boss.start();
  return {
    async enqueue(index) {
      const id = await boss.send(QUEUE, payload(index));
      if (!id) throw new Error("pg-boss send returned no id");
      return id;
    },
    close: () => boss.stop({ graceful: false, timeout: 1_000 }),
  };
}
