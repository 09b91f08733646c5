/**
 * The inbound queue on its own (spec §7.3 and DECISIONS D7): FIFO per lane,
 * one entry per task, stale entries skipped, long-poll with linger and wait,
 * one arrival wakes one poller, caps clamp silently, put-back on abort.
 * (The same behaviour through the service layer, on both stores, is in
 * service.test.ts.)
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { InboundQueue } from "../../src/queue/inbound-queue.ts";
import { COMMIT_KEY, CLEANUP_KEY } from "../../src/core/task-key.ts";
import type { QueueSubject } from "../../src/queue/queue-subject.ts";
import { EntryDeque } from "../../src/queue/entry-deque.ts";

class FakeJob implements QueueSubject {
  readonly jobId: bigint;
  readonly resourceGroupId = 1n;
  readonly queued = new Set<number>();
  readonly stale = new Set<number>();
  constructor(jobId = 1n) {
    this.jobId = jobId;
  }
  isQueued(key: number): boolean {
    return this.queued.has(key);
  }
  setQueued(key: number, queued: boolean): void {
    if (queued) this.queued.add(key);
    else this.queued.delete(key);
  }
  canAcceptInstance(key: number): boolean {
    return !this.stale.has(key);
  }
}

const keys = (entries: { key: number }[]): number[] => entries.map((e) => e.key);

/** Whether `promise` settled within a few microtask turns (no timer, no clock). */
async function settledAtOnce(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  void promise.then(() => (settled = true));
  for (let i = 0; i < 5; i++) await Promise.resolve();
  return settled;
}

describe("EntryDeque", () => {
  it("keeps FIFO order across growth, shift and unshift", () => {
    const deque = new EntryDeque<FakeJob>(2);
    const job = new FakeJob();
    for (let i = 0; i < 1000; i++) deque.push(job, i, i);
    for (let i = 0; i < 500; i++) {
      expect(deque.peekKey()).toBe(i);
      deque.shift();
    }
    deque.unshift(job, -7, 0);
    expect(deque.peekKey()).toBe(-7);
    deque.shift();
    for (let i = 1000; i < 3000; i++) deque.push(job, i, i);
    const out: number[] = [];
    while (deque.length > 0) {
      out.push(deque.peekKey());
      deque.shift();
    }
    expect(out).toEqual(Array.from({ length: 2500 }, (_, i) => i + 500));
  });
});

describe("InboundQueue", () => {
  // Waits and lingers run on a fake clock: a loaded machine cannot stretch them.
  afterEach(() => vi.useRealTimers());

  it("answers maxItems 0 with nothing at once, and keeps lanes apart, FIFO", async () => {
    const queue = new InboundQueue();
    const job = new FakeJob();
    queue.enqueue(job, 3);
    queue.enqueue(job, 1);
    queue.enqueue(job, COMMIT_KEY);
    queue.enqueue(job, CLEANUP_KEY);
    expect(await queue.poll("task", { maxItems: 0, waitMs: 1000 })).toEqual([]);
    expect(keys(await queue.poll("task", { maxItems: 10, waitMs: 0 }))).toEqual([3, 1]);
    expect(keys(await queue.poll("commit", { maxItems: 10, waitMs: 0 }))).toEqual([COMMIT_KEY]);
    expect(keys(await queue.poll("cleanup", { maxItems: 10, waitMs: 0 }))).toEqual([CLEANUP_KEY]);
  });

  it("holds at most one entry per task, and a handed-out task may be queued again", async () => {
    const queue = new InboundQueue();
    const job = new FakeJob();
    expect(queue.enqueue(job, 5)).toBe(true);
    expect(queue.enqueue(job, 5)).toBe(false);
    expect(queue.depth("task")).toBe(1);
    expect(keys(await queue.poll("task", { maxItems: 10, waitMs: 0 }))).toEqual([5]);
    expect(job.isQueued(5)).toBe(false);
    expect(queue.enqueue(job, 5)).toBe(true);
  });

  it("skips stale entries at poll time", async () => {
    const queue = new InboundQueue();
    const job = new FakeJob();
    for (const key of [1, 2, 3, 4]) queue.enqueue(job, key);
    job.stale.add(2).add(3);
    expect(keys(await queue.poll("task", { maxItems: 10, waitMs: 0 }))).toEqual([1, 4]);
    expect(queue.depth("task")).toBe(0);
    expect(job.queued.size).toBe(0);
  });

  it("returns as soon as maxItems arrived, in order (spec §7.3)", async () => {
    vi.useFakeTimers();
    const queue = new InboundQueue({ lingerMs: 1000 });
    const job = new FakeJob();
    const poll = queue.poll("task", { maxItems: 4, waitMs: 10_000 });
    for (const key of [10, 11, 12, 13]) {
      await vi.advanceTimersByTimeAsync(2);
      queue.enqueue(job, key);
    }
    // No timer fired since the fourth arrival: it alone ended the poll, long before the 1 s linger.
    expect(await settledAtOnce(poll)).toBe(true);
    expect(keys(await poll)).toEqual([10, 11, 12, 13]);
  });

  it("returns empty after the whole wait when nothing arrives", async () => {
    vi.useFakeTimers();
    const queue = new InboundQueue();
    const poll = queue.poll("task", { maxItems: 5, waitMs: 60 });
    await vi.advanceTimersByTimeAsync(59);
    expect(await settledAtOnce(poll)).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(await settledAtOnce(poll)).toBe(true);
    expect(await poll).toEqual([]);
  });

  it("returns shortly after the first arrival, gathering what arrives during the linger", async () => {
    vi.useFakeTimers();
    const queue = new InboundQueue({ lingerMs: 30 });
    const job = new FakeJob();
    const poll = queue.poll("task", { maxItems: 100, waitMs: 5_000 });
    await vi.advanceTimersByTimeAsync(20);
    queue.enqueue(job, 1);
    await vi.advanceTimersByTimeAsync(5);
    queue.enqueue(job, 2);
    await vi.advanceTimersByTimeAsync(24); // 29 ms after the first arrival: still lingering
    expect(await settledAtOnce(poll)).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(await settledAtOnce(poll)).toBe(true);
    expect(keys(await poll)).toEqual([1, 2]);
  });

  it("wakes one waiting poller per arrival, not all of them", async () => {
    vi.useFakeTimers();
    const queue = new InboundQueue({ lingerMs: 1 });
    const job = new FakeJob();
    const results: number[][] = [];
    const polls = Array.from({ length: 5 }, (_, i) =>
      queue.poll("task", { maxItems: 10, waitMs: 300 }).then((r) => {
        results[i] = keys(r);
      }),
    );
    await vi.advanceTimersByTimeAsync(10);
    queue.enqueue(job, 42);
    await vi.advanceTimersByTimeAsync(1); // the linger
    // Exactly the first poller (first come, first served) got it; the others still wait.
    expect(results[0]).toEqual([42]);
    expect(results.filter((r) => r !== undefined)).toHaveLength(1);
    queue.enqueue(job, 43);
    await vi.advanceTimersByTimeAsync(1);
    expect(results[1]).toEqual([43]);
    expect(results.filter((r) => r !== undefined)).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(300);
    await Promise.all(polls);
    expect(results.slice(2)).toEqual([[], [], []]);
  });

  it("spreads a burst over waiting pollers by their maxItems, each entry to one poller", async () => {
    vi.useFakeTimers();
    const queue = new InboundQueue({ lingerMs: 1 });
    const job = new FakeJob();
    const polls = Array.from({ length: 4 }, () => queue.poll("task", { maxItems: 3, waitMs: 500 }));
    await vi.advanceTimersByTimeAsync(5);
    for (let key = 0; key < 10; key++) queue.enqueue(job, key);
    await vi.advanceTimersByTimeAsync(1); // the last poller's linger
    const results = (await Promise.all(polls)).map(keys);
    expect(results.flat().sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(results.map((r) => r.length)).toEqual([3, 3, 3, 1]);
  });

  it("clamps maxItems and waitMs above their caps silently and reports it", async () => {
    vi.useFakeTimers();
    const clamps: string[] = [];
    const queue = new InboundQueue({
      maxItemsCap: 3,
      waitMsCap: 50,
      onClamp: (lane, field, requested, cap) => clamps.push(`${lane}:${field}:${requested}->${cap}`),
    });
    const job = new FakeJob();
    for (let key = 0; key < 5; key++) queue.enqueue(job, key);
    expect(keys(await queue.poll("task", { maxItems: 2n ** 63n, waitMs: 0 }))).toEqual([0, 1, 2]);
    const commitPoll = queue.poll("commit", { maxItems: 1, waitMs: 10n ** 12n });
    await vi.advanceTimersByTimeAsync(49);
    expect(await settledAtOnce(commitPoll)).toBe(false);
    await vi.advanceTimersByTimeAsync(1); // the 50 ms cap, not 10^12 ms
    expect(await settledAtOnce(commitPoll)).toBe(true);
    expect(clamps).toEqual([`task:maxItems:${2n ** 63n}->3`, `commit:waitMs:${10n ** 12n}->50`]);
  });

  it("puts the entries of a poll whose caller went away back at the front", async () => {
    vi.useFakeTimers();
    const queue = new InboundQueue({ lingerMs: 200 });
    const job = new FakeJob();
    const controller = new AbortController();
    const poll = queue.poll("task", { maxItems: 10, waitMs: 5_000, signal: controller.signal });
    await vi.advanceTimersByTimeAsync(5);
    queue.enqueue(job, 1);
    queue.enqueue(job, 2);
    await vi.advanceTimersByTimeAsync(10); // taken by the lingering poll
    expect(queue.depth("task")).toBe(0);
    queue.enqueue(job, 3);
    await vi.advanceTimersByTimeAsync(5);
    controller.abort();
    expect(await poll).toEqual([]);
    expect(keys(await queue.poll("task", { maxItems: 10, waitMs: 0 }))).toEqual([1, 2, 3]);
  });

  it("putBack skips tasks queued again meanwhile (no duplicates)", async () => {
    const queue = new InboundQueue();
    const job = new FakeJob();
    queue.enqueue(job, 1);
    queue.enqueue(job, 2);
    const taken = await queue.poll("task", { maxItems: 10, waitMs: 0 });
    queue.enqueue(job, 2);
    queue.putBack(taken);
    expect(keys(await queue.poll("task", { maxItems: 10, waitMs: 0 }))).toEqual([1, 2]);
  });

  it("reports depth and the age of the oldest entry per lane", async () => {
    let now = 1_000;
    const queue = new InboundQueue({ now: () => now });
    const job = new FakeJob();
    queue.enqueue(job, 1);
    now += 250;
    queue.enqueue(job, 2);
    queue.enqueue(job, COMMIT_KEY);
    now += 50;
    const stats = queue.stats();
    expect(stats.task).toMatchObject({ depth: 2, oldestAgeMs: 300 });
    expect(stats.commit).toMatchObject({ depth: 1, oldestAgeMs: 50 });
    expect(stats.cleanup).toMatchObject({ depth: 0, oldestAgeMs: 0 });
  });

  // Synchronous: enqueue never waits. How fast it is belongs to `npm run bench`, not here.
  it("enqueues a million entries without waiting", () => {
    const queue = new InboundQueue();
    const job = { jobId: 1n, resourceGroupId: 1n, isQueued: () => false, setQueued: () => {}, canAcceptInstance: () => true };
    for (let i = 0; i < 1_000_000; i++) queue.enqueue(job, i);
    expect(queue.depth("task")).toBe(1_000_000);
  });
});

describe("InboundQueue: waiting polls are capped", () => {
  it("a poll beyond max_waiting_polls answers at once, empty, and is counted", async () => {
    const refused: string[] = [];
    const queue = new InboundQueue({ maxWaitingPolls: 2, onWaitRefused: (lane) => refused.push(lane) });
    const first = queue.poll("task", { maxItems: 1, waitMs: 60_000 });
    const second = queue.poll("commit", { maxItems: 1, waitMs: 60_000 });
    // Under the cap a poll waits (this is what the third one would do without the cap).
    expect(await settledAtOnce(first)).toBe(false);
    const third = queue.poll("task", { maxItems: 1, waitMs: 60_000 });
    expect(await settledAtOnce(third)).toBe(true);
    expect(await third).toEqual([]);
    expect(refused).toEqual(["task"]);
    expect(queue.stats().task).toMatchObject({ waitingPollers: 1, waitRefusedPolls: 1 });
    // The waiting ones are served as before, and their leaving makes room again.
    const job = new FakeJob();
    queue.enqueue(job, 7);
    expect(keys(await first)).toEqual([7]);
    const fourth = queue.poll("task", { maxItems: 1, waitMs: 60_000 });
    expect(await settledAtOnce(fourth)).toBe(false);
    queue.close();
    expect(await second).toEqual([]);
    expect(await fourth).toEqual([]);
  });

  it("a poll over the cap still takes what is queued when nobody waits on its lane", async () => {
    const queue = new InboundQueue({ maxWaitingPolls: 1 });
    const waiting = queue.poll("commit", { maxItems: 1, waitMs: 60_000 });
    const job = new FakeJob();
    queue.enqueue(job, 4);
    expect(keys(await queue.poll("task", { maxItems: 5, waitMs: 60_000 }))).toEqual([4]);
    queue.close();
    await waiting;
  });

  it("pollers leave in any order and the rest are still served first come, first served", async () => {
    const queue = new InboundQueue({ lingerMs: 0 });
    const controllers = Array.from({ length: 100 }, () => new AbortController());
    const polls = controllers.map((c) => queue.poll("task", { maxItems: 1, waitMs: 60_000, signal: c.signal }));
    for (let i = 0; i < 100; i += 2) controllers[i]!.abort();
    expect(queue.stats().task.waitingPollers).toBe(50);
    const job = new FakeJob();
    for (let key = 0; key < 50; key++) queue.enqueue(job, key);
    const results = await Promise.all(polls);
    expect(results.filter((_, i) => i % 2 === 0).every((r) => r.length === 0)).toBe(true);
    expect(results.filter((_, i) => i % 2 === 1).map((r) => keys(r)[0])).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });
});

describe("InboundQueue: entries handed out and never claimed are offered again", () => {
  function setup(reofferAfterMs = 30_000) {
    let now = 0;
    const reoffered: string[] = [];
    const queue = new InboundQueue({
      now: () => now,
      reofferUnclaimedAfterMs: reofferAfterMs,
      onReoffered: (subject, key) => reoffered.push(`${subject.jobId}/${key}`),
    });
    return { queue, reoffered, advance: (ms: number) => (now += ms) };
  }

  it("re-enqueues a task polled but not registered once the re-offer time has passed, and reports it", async () => {
    const { queue, reoffered, advance } = setup();
    const job = new FakeJob(5n);
    queue.enqueue(job, 1);
    queue.enqueue(job, COMMIT_KEY);
    expect(keys(await queue.poll("task", { maxItems: 10, waitMs: 0 }))).toEqual([1]);
    expect(keys(await queue.poll("commit", { maxItems: 10, waitMs: 0 }))).toEqual([COMMIT_KEY]);
    expect(queue.stats().task.unclaimed).toBe(1);
    advance(29_999);
    expect(queue.reofferUnclaimed()).toBe(0);
    expect(queue.depth("task")).toBe(0);
    advance(1);
    expect(queue.reofferUnclaimed()).toBe(2);
    expect(reoffered).toEqual(["5/1", `5/${COMMIT_KEY}`]);
    expect(queue.stats().task).toMatchObject({ depth: 1, unclaimed: 0 });
    expect(keys(await queue.poll("task", { maxItems: 10, waitMs: 0 }))).toEqual([1]);
  });

  it("never re-offers a claimed task, one that cannot take an instance, or one queued again meanwhile", async () => {
    const { queue, reoffered, advance } = setup(1_000);
    const job = new FakeJob(9n);
    for (let key = 0; key < 4; key++) queue.enqueue(job, key);
    expect(keys(await queue.poll("task", { maxItems: 10, waitMs: 0 }))).toEqual([0, 1, 2, 3]);
    queue.claim(job, 0); // registered
    job.stale.add(1); // its job was cancelled, say
    queue.enqueue(job, 2); // a soft timeout queued it again
    advance(1_000);
    // Task 3 proves the sweep runs: it is re-offered; the others are not.
    expect(queue.reofferUnclaimed()).toBe(1);
    expect(reoffered).toEqual(["9/3"]);
    expect(keys(await queue.poll("task", { maxItems: 10, waitMs: 0 }))).toEqual([2, 3]);
  });

  it("forgets entries a vanished poller gave back, and restarts the clock when a task is handed out again", async () => {
    const { queue, reoffered, advance } = setup(1_000);
    const job = new FakeJob(3n);
    queue.enqueue(job, 1);
    queue.enqueue(job, 2);
    const taken = await queue.poll("task", { maxItems: 10, waitMs: 0 });
    queue.putBack(taken.filter((entry) => entry.key === 1));
    advance(600);
    expect(keys(await queue.poll("task", { maxItems: 10, waitMs: 0 }))).toEqual([1]); // handed out again at 600
    queue.enqueue(job, 2);
    expect(keys(await queue.poll("task", { maxItems: 10, waitMs: 0 }))).toEqual([2]); // and 2 at 600 too
    advance(999);
    expect(queue.reofferUnclaimed()).toBe(0);
    advance(1);
    expect(queue.reofferUnclaimed()).toBe(2);
    expect(reoffered).toEqual(["3/1", "3/2"]);
  });

  it("re-offers nothing when the re-offer time is 0 (off)", async () => {
    const { queue, advance } = setup(0);
    const job = new FakeJob();
    queue.enqueue(job, 1);
    await queue.poll("task", { maxItems: 10, waitMs: 0 });
    expect(queue.stats().task.unclaimed).toBe(0);
    advance(1e9);
    expect(queue.reofferUnclaimed()).toBe(0);
  });
});
