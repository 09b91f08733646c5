/**
 * BullMQ on the local Redis (the bench's own database number), made as durable
 * as BullMQ's production guide asks: AOF on with `appendfsync everysec` (set
 * for the run, restored after). The run starts only once Redis reports no AOF
 * rewrite in progress or scheduled (turning AOF on starts one), and the
 * settings are read back (CONFIG GET, INFO persistence) into the results.
 * A Worker with concurrency 16 returns a ~100-byte result, which BullMQ keeps
 * with the completed job.
 *
 * "Durable" here: a job counts as complete at the Worker's `completed` event,
 * emitted after the script that moves the job to completed (with its result)
 * returned — the write is then in Redis's memory and appended to the AOF in
 * the page cache, and fsynced within about a second. A crash of Redis loses
 * nothing; a crash of the machine can lose up to ~1 s of completions. That is
 * weaker than a commit per job (spider-storage, graphile-worker, pg-boss).
 */
import { setTimeout as sleep } from "node:timers/promises";
import { Queue, Worker } from "bullmq";
import { Redis } from "ioredis";
import { CompletionWaiters } from "../lib/closed-loop.ts";
import { packageVersion, REDIS, type PeerHarness, type PeerOptions, type PeerProducer } from "./harness.ts";
import { payload, result } from "./payload.ts";

const connection = { ...REDIS, maxRetriesPerRequest: null };
const queueName = (runId: string) => `bench-w1-${runId}`;

async function waitForNoAofRewrite(admin: Redis): Promise<{ waitedMs: number; info: Record<string, string> }> {
  const t0 = performance.now();
  for (;;) {
    const info = Object.fromEntries(
      ((await admin.info("persistence")) as string)
        .split("\r\n")
        .filter((line) => line.includes(":"))
        .map((line) => line.split(":", 2) as [string, string]),
    );
    if (info["aof_rewrite_in_progress"] === "0" && info["aof_rewrite_scheduled"] === "0" && info["aof_enabled"] === "1") {
      return { waitedMs: Math.round(performance.now() - t0), info };
    }
    if (performance.now() - t0 > 120_000) throw new Error(`Redis AOF rewrite still running after 120 s: ${JSON.stringify(info)}`);
    await sleep(50);
  }
}

export async function createBullMq(options: PeerOptions): Promise<PeerHarness> {
  const admin = new Redis({ ...REDIS, maxRetriesPerRequest: 1, lazyConnect: true });
  await admin.connect();
  const previous = {
    appendonly: ((await admin.config("GET", "appendonly")) as string[])[1]!,
    appendfsync: ((await admin.config("GET", "appendfsync")) as string[])[1]!,
  };
  await admin.config("SET", "appendfsync", "everysec");
  await admin.config("SET", "appendonly", "yes");
  const aof = await waitForNoAofRewrite(admin);
  const readBack = {
    appendonly: ((await admin.config("GET", "appendonly")) as string[])[1]!,
    appendfsync: ((await admin.config("GET", "appendfsync")) as string[])[1]!,
    aof_enabled: aof.info["aof_enabled"] ?? "?",
    aof_rewrite_in_progress: aof.info["aof_rewrite_in_progress"] ?? "?",
    aof_last_bgrewrite_status: aof.info["aof_last_bgrewrite_status"] ?? "?",
    waitedForAofRewriteMs: String(aof.waitedMs),
  };
  const serverInfo = (await admin.info("server")) as string;
  const redisPid = Number(/process_id:(\d+)/.exec(serverInfo)?.[1]);
  const redisVersion = /redis_version:([^\r\n]+)/.exec(serverInfo)?.[1] ?? "?";

  const name = queueName(options.runId);
  const queue = new Queue(name, { connection });
  const waiters = new CompletionWaiters<string>();
  const counted = { count: 0, lastAt: 0 };
  const worker = new Worker(name, async (job) => result((job.data as { i: number }).i), { connection, concurrency: options.workerConcurrency });
  worker.on("completed", (job) => {
    counted.count++;
    counted.lastAt = performance.now();
    waiters.complete(job.id!);
  });
  worker.on("error", (error) => console.error(`bullmq worker error: ${error.message}`));
  await worker.waitUntilReady();

  return {
    name: "BullMQ",
    settings: { version: await packageVersion("bullmq"), redis: redisVersion, redisDb: REDIS.db, workerConcurrency: options.workerConcurrency, removeOnComplete: false },
    durability: readBack,
    completionSignal: "Worker 'completed' event (after its move-to-completed script returned; in Redis memory and the AOF, fsynced within ~1 s by appendfsync everysec)",
    store: { pids: Number.isFinite(redisPid) ? [redisPid] : [], note: "redis-server (shared; others may use it)" },
    async enqueue(index) {
      const job = await queue.add("w1", payload(index));
      return job.id!;
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
      await worker.close();
      await queue.obliterate({ force: true }).catch(() => undefined);
      await queue.close();
      await admin.config("SET", "appendfsync", previous.appendfsync);
      await admin.config("SET", "appendonly", previous.appendonly);
      admin.disconnect();
    },
  };
}

export async function createBullMqProducer(options: PeerOptions): Promise<PeerProducer> {
  const queue = new Queue(queueName(options.runId), { connection });
  await queue.waitUntilReady();
  return {
    async enqueue(index) {
      const job = await queue.add("w1", payload(index));
      return job.id!;
    },
    close: () => queue.close(),
  };
}
