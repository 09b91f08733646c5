/**
 * The group-commit checkpoint writer on its own (a fake write function):
 * batching by size and by time, strict order across batches, one flush at a
 * time, retries with backoff that never block enqueue, the backlog cap
 * (oldest jobs dropped), oversized outputs skipped, flush on close.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it, vi } from "vitest";
import { CheckpointWriter, type CheckpointEntry, type CheckpointWriterStats } from "../../src/checkpoints/checkpoint-writer.ts";
import { invalidArgument } from "../../src/core/errors.ts";
import { silentLogger } from "../../src/observability/logger.ts";
import { waitFor } from "../../testkit/wait-for.ts";

const bytes = (n: number) => new Uint8Array(n);

function recorder(options: { failFirst?: number; delayMs?: number } = {}) {
  const batches: CheckpointEntry[][] = [];
  let failures = options.failFirst ?? 0;
  let inFlight = 0;
  let maxInFlight = 0;
  const write = async (entries: readonly CheckpointEntry[]) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    try {
      // The global setTimeout, so that a test on vitest's fake timers controls it.
      if (options.delayMs) await new Promise((resolve) => setTimeout(resolve, options.delayMs));
      if (failures > 0) {
        failures--;
        throw new Error("database unreachable");
      }
      batches.push([...entries]);
    } finally {
      inFlight--;
    }
  };
  return {
    write,
    batches,
    written: () => batches.flat().map((e) => `${e.jobId}/${e.taskIndex}`),
    maxInFlight: () => maxInFlight,
  };
}

describe("CheckpointWriter", () => {
  afterEach(() => vi.useRealTimers());

  it("flushes a full batch at once and the rest after the interval, in enqueue order, one flush at a time", async () => {
    vi.useFakeTimers(); // the interval and the writes' 5 ms run on vitest's clock
    const r = recorder({ delayMs: 5 });
    const writer = new CheckpointWriter({ write: r.write, flushIntervalMs: 30, maxBatch: 4, logger: silentLogger() });
    for (let i = 0; i < 10; i++) writer.enqueue(1n, i, bytes(1));
    await vi.advanceTimersByTimeAsync(5);
    expect(r.written().length).toBeGreaterThanOrEqual(4); // full batches went without waiting for the interval
    await vi.advanceTimersByTimeAsync(80);
    expect(r.written()).toEqual([...Array(10).keys()].map((i) => `1/${i}`));
    expect(r.batches.every((b) => b.length <= 4)).toBe(true);
    expect(r.maxInFlight()).toBe(1);
    expect(writer.stats()).toMatchObject({ enqueued: 10, written: 10, pending: 0, pendingBytes: 0 });
  });

  it("groups what arrives during a flush into the next one", async () => {
    const r = recorder({ delayMs: 20 });
    const writer = new CheckpointWriter({ write: r.write, flushIntervalMs: 0, maxBatch: 100, logger: silentLogger() });
    writer.enqueue(1n, 0, bytes(1));
    for (let i = 1; i < 50; i++) writer.enqueue(BigInt(i % 3), i, bytes(1));
    await writer.flush();
    expect(r.batches.length).toBeLessThanOrEqual(3);
    expect(r.written()).toHaveLength(50);
  });

  it("retries a failed flush with backoff, keeps order, and never blocks enqueue", async () => {
    const r = recorder({ failFirst: 3 });
    const writer = new CheckpointWriter({ write: r.write, flushIntervalMs: 1, maxBatch: 2, logger: silentLogger(), retryMinMs: 5, retryMaxMs: 20 });
    // enqueue returns nothing to wait for: it cannot block, whatever the flushes do.
    for (let i = 0; i < 6; i++) writer.enqueue(7n, i, bytes(1));
    await sleep(5);
    for (let i = 6; i < 8; i++) writer.enqueue(7n, i, bytes(1));
    await writer.flush();
    expect(r.written()).toEqual([...Array(8).keys()].map((i) => `7/${i}`));
    expect(writer.stats().failedFlushes).toBe(3);
  });

  it("over its cap, drops every pending checkpoint of the oldest jobs (never the batch being written)", async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const written: string[] = [];
    const writer = new CheckpointWriter({
      write: async (entries) => {
        await gate;
        for (const e of entries) written.push(`${e.jobId}/${e.taskIndex}`);
      },
      flushIntervalMs: 0,
      maxBatch: 2,
      maxPendingEntries: 10,
      logger: silentLogger(),
    });
    writer.enqueue(1n, 0, bytes(1)); // the flush starts at once: 1/0 alone is in flight
    for (let i = 1; i < 6; i++) writer.enqueue(1n, i, bytes(1)); // job 1 pending
    for (let i = 0; i < 4; i++) writer.enqueue(2n, i, bytes(1));
    expect(writer.stats().dropped).toBe(0);
    writer.enqueue(3n, 0, bytes(1)); // 11 > 10: job 1's pending ones go
    expect(writer.stats()).toMatchObject({ dropped: 5, pending: 6 });
    release();
    await writer.flush();
    expect(written).toEqual(["1/0", "2/0", "2/1", "2/2", "2/3", "3/0"]);
  });

  it("skips outputs too large to checkpoint, and flushes what is pending on close (then takes no more)", async () => {
    const r = recorder();
    const writer = new CheckpointWriter({ write: r.write, flushIntervalMs: 60_000, maxBatch: 1000, maxEntryBytes: 10, logger: silentLogger() });
    writer.enqueue(1n, 0, bytes(11));
    writer.enqueue(1n, 1, bytes(10));
    const stats = await writer.close(1_000);
    expect(stats).toMatchObject({ skippedLarge: 1, written: 1, pending: 0 });
    writer.enqueue(1n, 2, bytes(1));
    expect(writer.stats().pending).toBe(0);
    expect(r.written()).toEqual(["1/1"]);
  });

  it("gives up at the close deadline when the database stays unreachable", async () => {
    // The deadline is read from performance.now(), faked here (it moves only when told); the 10 ms retry pauses stay real.
    vi.useFakeTimers({ toFake: ["performance"] });
    let attempts = 0;
    const writer = new CheckpointWriter({
      write: async () => {
        attempts++;
        throw new Error("down");
      },
      flushIntervalMs: 1,
      maxBatch: 10,
      logger: silentLogger(),
      retryMinMs: 10,
      retryMaxMs: 10,
    });
    writer.enqueue(1n, 0, bytes(1));
    let stats: CheckpointWriterStats | undefined;
    const closing = writer.close(150).then((s) => (stats = s));
    const before = attempts;
    await waitFor("retries while the deadline is ahead", () => attempts >= before + 3);
    expect(stats).toBeUndefined(); // still retrying before the deadline
    vi.advanceTimersByTime(150);
    await closing; // gives up at the first failure past the deadline
    expect(stats!.pending).toBe(1);
  });

  it("a batch that would fail the same way every time is written one entry at a time: the entry at fault is dropped and counted, the rest written in order", async () => {
    const batches: string[][] = [];
    let attempts = 0;
    const writer = new CheckpointWriter({
      write: async (entries) => {
        attempts++;
        // Task 3's outputs are beyond what the server takes: any batch holding it fails, every time.
        if (entries.some((e) => e.taskIndex === 3)) throw invalidArgument("writeCheckpoints: a value exceeds the database's limits (injected 1153)");
        batches.push(entries.map((e) => `${e.jobId}/${e.taskIndex}`));
      },
      flushIntervalMs: 60_000,
      maxBatch: 4,
      logger: silentLogger(),
      retryMinMs: 60_000, // a retry with backoff would stall this test: none must happen
    });
    for (let i = 0; i < 10; i++) writer.enqueue(1n, i, bytes(1));
    await writer.flush();
    expect(batches.flat()).toEqual(["1/0", "1/1", "1/2", "1/4", "1/5", "1/6", "1/7", "1/8", "1/9"]);
    expect(writer.stats()).toMatchObject({ rejected: 1, written: 9, pending: 0, pendingBytes: 0, failedFlushes: 0 });
    expect(attempts).toBeLessThan(15);
  });

  it("queues copies of the outputs in buffers of their own size, never views into the reported request", async () => {
    const seen: Uint8Array[] = [];
    const writer = new CheckpointWriter({
      write: async (entries) => {
        for (const e of entries) seen.push(e.outputs);
      },
      flushIntervalMs: 60_000,
      maxBatch: 10,
      logger: silentLogger(),
    });
    const request = new Uint8Array(1024 * 1024).fill(9);
    writer.enqueue(1n, 0, request.subarray(100, 164));
    await writer.flush();
    expect(seen).toHaveLength(1);
    expect(seen[0]!.byteLength).toBe(64);
    expect(seen[0]!.buffer.byteLength).toBe(64);
    expect([...seen[0]!]).toEqual(new Array(64).fill(9));
  });
});
