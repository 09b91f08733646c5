/**
 * BullMQ on the local Redis, made durable the way BullMQ's production guide
 * asks: AOF on with `appendfsync everysec` (set here for the run, restored
 * after). A Worker with concurrency 16 returns a small result; completion is
 * the Worker's `completed` event, emitted after its moveToCompleted script ran.
 */
import { Queue, Worker } from "bullmq";
import { Redis } from "ioredis";
import { CompletionWaiters } from "../lib/closed-loop.ts";
import { REDIS, type PeerHarness, type PeerOptions } from "./harness.ts";

export async function createBullMq(options: PeerOptions): Promise<PeerHarness> {
  const admin = new Redis({ ...REDIS, maxRetriesPerRequest: 1, lazyConnect: true });
  await admin.connect();
  const previous = {
    appendonly: ((await admin.config("GET", "appendonly")) as string[])[1]!,
    appendfsync: ((await admin.config("GET", "appendfsync")) as string[])[1]!,
  };
  await admin.config("SET", "appendonly", "yes");
  await admin.config("SET", "appendfsync", "everysec");

  const name = `bench-w1-${options.runId}`;
  const connection = { ...REDIS, maxRetriesPerRequest: null };
  const queue = new Queue(name, { connection });
  const waiters = new CompletionWaiters<string>();
  const worker = new Worker(name, async (job) => ({ ok: true, i: job.data.i }), { connection, concurrency: options.workerConcurrency });
  worker.on("completed", (job) => waiters.complete(job.id!));
  worker.on("error", (error) => console.error(`bullmq worker error: ${error.message}`));
  await worker.waitUntilReady();

  return {
    name: "BullMQ",
    settings: { version: await packageVersion("bullmq"), workerConcurrency: options.workerConcurrency, appendonly: "yes", appendfsync: "everysec" },
    completionSignal: "Worker 'completed' event (after the job was moved to completed in Redis)",
    async runJob(index) {
      const id = `${options.runId}-${index}`;
      const done = waiters.wait(id);
      await queue.add("w1", { i: index }, { jobId: id });
      await done;
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

export async function packageVersion(name: string): Promise<string> {
  const { readFile } = await import("node:fs/promises");
  const path = new URL(`./node_modules/${name}/package.json`, import.meta.url);
  return (JSON.parse(await readFile(path, "utf8")) as { version: string }).version;
}
