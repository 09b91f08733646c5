/**
 * pg-boss on the local PostgreSQL (synchronous_commit on), in a fresh schema
 * per run (dropped after). D17's settings: `work()` with batchSize 25,
 * LISTEN/NOTIFY on, polling at its 0.5 s minimum. The handler returns a small
 * result, which pg-boss stores with the completion.
 *
 * pg-boss has no completion event: completion is observed when its own
 * completion statement (UPDATE … SET state = 'completed') returns, by wrapping
 * the instance's database `executeSql` (no extra query).
 */
import { PgBoss } from "pg-boss";
import { CompletionWaiters } from "../lib/closed-loop.ts";
import { packageVersion } from "./bullmq.ts";
import { withSynchronousCommit } from "./graphile-worker.ts";
import { POSTGRES_URL, type PeerHarness, type PeerOptions } from "./harness.ts";

export async function createPgBoss(options: PeerOptions): Promise<PeerHarness> {
  const schema = `pgboss_bench_${options.runId.replace(/[^a-z0-9_]/gi, "_")}`;
  const boss = new PgBoss({ connectionString: withSynchronousCommit(POSTGRES_URL), schema, useListenNotify: true, max: 20 });
  boss.on("error", (error: Error) => console.error(`pg-boss error: ${error.message}`));
  await boss.start();
  const queue = "bench_w1";
  await boss.createQueue(queue, { notify: true });

  const waiters = new CompletionWaiters<string>();
  const db = boss.getDb() as { executeSql(text: string, values?: unknown[]): Promise<unknown> };
  const executeSql = db.executeSql.bind(db);
  db.executeSql = async (text: string, values?: unknown[]) => {
    const result = await executeSql(text, values);
    if (values && /SET completed_on = /.test(text) && Array.isArray(values[1])) {
      for (const id of values[1] as string[]) waiters.complete(id);
    }
    return result;
  };

  const workers = Math.max(1, Math.round(options.workerConcurrency / 16));
  for (let i = 0; i < workers; i++) {
    await boss.work<{ i: number }>(queue, { batchSize: 25, pollingIntervalSeconds: 0.5, notifyPollingIntervalSeconds: 0.5 }, async (jobs) => ({ ok: true, n: jobs.length }));
  }

  return {
    name: "pg-boss",
    settings: { version: await packageVersion("pg-boss"), batchSize: 25, workers, useListenNotify: true, pollingIntervalSeconds: 0.5, synchronous_commit: "on" },
    completionSignal: "pg-boss's own completion UPDATE returned (observed by wrapping its executeSql)",
    async runJob(index) {
      const id = await boss.send(queue, { i: index });
      if (!id) throw new Error("pg-boss send returned no id");
      await waiters.wait(id);
    },
    async close() {
      await boss.stop({ graceful: true, timeout: 5_000 });
      const { Client } = (await import("pg")).default;
      const client = new Client({ connectionString: POSTGRES_URL });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
      await client.end();
    },
  };
}
