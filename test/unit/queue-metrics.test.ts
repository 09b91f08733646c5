/**
 * The inbound queue's counts for the operator (issue #17 items 8 and 9): polls
 * answered without waiting because max_waiting_polls were waiting, and tasks
 * handed out and not registered yet, read from the queue at scrape time; the
 * re-offer cause starts at zero.
 */
import { describe, expect, it } from "vitest";
import { Metrics } from "../../src/observability/metrics.ts";
import { InboundQueue } from "../../src/queue/inbound-queue.ts";

describe("queue metrics", () => {
  it("exposes refused waits, unclaimed entries and the unclaimed_poll requeue cause", async () => {
    const queue = new InboundQueue({ maxWaitingPolls: 1 });
    const subject = { jobId: 1n, resourceGroupId: 1n, queued: new Set<number>(), isQueued: (k: number) => subject.queued.has(k), setQueued: (k: number, q: boolean) => void (q ? subject.queued.add(k) : subject.queued.delete(k)), canAcceptInstance: () => true };
    queue.enqueue(subject, 0);
    queue.enqueue(subject, 1);
    await queue.poll("task", { maxItems: 2, waitMs: 0 }); // two entries handed out, unclaimed
    const waiting = queue.poll("commit", { maxItems: 1, waitMs: 60_000 });
    await queue.poll("commit", { maxItems: 1, waitMs: 60_000 }); // refused: one poll waits already
    const metrics = new Metrics();
    metrics.setSources({ queue: () => queue.stats() });
    const text = await metrics.exposition();
    expect(text).toContain('spider_storage_poll_wait_refused_total{lane="commit"} 1');
    expect(text).toContain('spider_storage_poll_wait_refused_total{lane="task"} 0');
    expect(text).toContain('spider_storage_queue_unclaimed{lane="task"} 2');
    expect(text).toContain('spider_storage_task_requeues_total{cause="unclaimed_poll"} 0');
    expect(text).toContain('spider_storage_task_requeues_total{cause="undelivered_instance"} 0');
    queue.close();
    await waiting;
  });
});
