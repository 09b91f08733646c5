/**
 * GroupCommit (src/db/group-commit.ts), without a database: what goes into a
 * batch and when, and that every submitter gets its own item's outcome.
 * Batches are observed through the write function itself; nothing here
 * waits on a clock.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { FaultInjector } from "../../../src/db/fault-injection/fault-injector.ts";
import { describe, expect, it } from "vitest";
import { GroupCommit, type RunInContext, type Settlement } from "../../../src/db/group-commit.ts";

/** A write function whose batches stay open until the test settles them. */
function controlledWrites() {
  const batches: { items: number[]; settle: (outcomes: readonly Settlement<string>[]) => void; fail: (error: unknown) => void }[] = [];
  const write = (items: readonly number[]) =>
    new Promise<readonly Settlement<string>[]>((resolve, reject) => {
      batches.push({ items: [...items], settle: resolve, fail: reject });
    });
  return { batches, write };
}

const ok = (value: string): Settlement<string> => ({ ok: true, value });
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

describe("GroupCommit", () => {
  it("an item submitted to an idle batcher is written at once, alone", async () => {
    const { batches, write } = controlledWrites();
    const group = new GroupCommit<number, string>({ write, maxBatch: 10, maxInFlight: 1 });
    const answer = group.submit(1);
    await flush();
    expect(batches.map((b) => b.items)).toEqual([[1]]);
    batches[0]!.settle([ok("one")]);
    await expect(answer).resolves.toBe("one");
  });

  it("items submitted in one turn of the event loop share a batch", async () => {
    const { batches, write } = controlledWrites();
    const group = new GroupCommit<number, string>({ write, maxBatch: 10, maxInFlight: 1 });
    const answers = [1, 2, 3].map((n) => group.submit(n));
    await flush();
    expect(batches.map((b) => b.items)).toEqual([[1, 2, 3]]);
    batches[0]!.settle([ok("a"), ok("b"), ok("c")]);
    await expect(Promise.all(answers)).resolves.toEqual(["a", "b", "c"]);
  });

  it("the next batch forms while the previous one is written, and goes when it is done", async () => {
    const { batches, write } = controlledWrites();
    const group = new GroupCommit<number, string>({ write, maxBatch: 10, maxInFlight: 1 });
    const first = group.submit(1);
    await flush();
    const later = [2, 3, 4].map((n) => group.submit(n));
    await flush();
    expect(batches).toHaveLength(1); // the capability to go was there: the first batch went at once
    batches[0]!.settle([ok("1")]);
    await first;
    await flush();
    expect(batches.map((b) => b.items)).toEqual([[1], [2, 3, 4]]);
    batches[1]!.settle([ok("2"), ok("3"), ok("4")]);
    await expect(Promise.all(later)).resolves.toEqual(["2", "3", "4"]);
    expect(group.stats).toEqual({ batches: 2, items: 4, largestBatch: 3 });
  });

  it("maxInFlight batches are written at once; maxBatch caps each", async () => {
    const { batches, write } = controlledWrites();
    const group = new GroupCommit<number, string>({ write, maxBatch: 2, maxInFlight: 2 });
    const answers = [1, 2, 3, 4, 5].map((n) => group.submit(n));
    await flush();
    expect(batches.map((b) => b.items)).toEqual([[1, 2], [3, 4]]);
    batches[1]!.settle([ok("3"), ok("4")]);
    await flush();
    expect(batches.map((b) => b.items)).toEqual([[1, 2], [3, 4], [5]]);
    batches[0]!.settle([ok("1"), ok("2")]);
    batches[2]!.settle([ok("5")]);
    await expect(Promise.all(answers)).resolves.toEqual(["1", "2", "3", "4", "5"]);
  });

  it("a batch stops before the byte bound, but always carries one item", async () => {
    const { batches, write } = controlledWrites();
    const group = new GroupCommit<number, string>({ write, maxBatch: 10, maxInFlight: 1, maxBatchBytes: 100, sizeOf: (n) => n });
    const answers = [150, 40, 50, 20].map((n) => group.submit(n));
    await flush();
    expect(batches.map((b) => b.items)).toEqual([[150]]);
    batches[0]!.settle([ok("big")]);
    await flush();
    expect(batches.map((b) => b.items)).toEqual([[150], [40, 50]]);
    batches[1]!.settle([ok("x"), ok("y")]);
    await flush();
    expect(batches.map((b) => b.items)).toEqual([[150], [40, 50], [20]]);
    batches[2]!.settle([ok("z")]);
    await expect(Promise.all(answers)).resolves.toEqual(["big", "x", "y", "z"]);
  });

  it("each item gets its own outcome: one refused item fails only its submitter", async () => {
    const { batches, write } = controlledWrites();
    const group = new GroupCommit<number, string>({ write, maxBatch: 10, maxInFlight: 1 });
    const answers = [1, 2, 3].map((n) => group.submit(n));
    await flush();
    batches[0]!.settle([ok("a"), { ok: false, error: new Error("refused 2") }, ok("c")]);
    const settled = await Promise.allSettled(answers);
    expect(settled.map((s) => s.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect((settled[1] as PromiseRejectedResult).reason).toEqual(new Error("refused 2"));
  });

  it("a write that fails as a whole fails every item of its batch, and the batcher goes on", async () => {
    const { batches, write } = controlledWrites();
    const group = new GroupCommit<number, string>({ write, maxBatch: 10, maxInFlight: 1 });
    const answers = [1, 2].map((n) => group.submit(n));
    await flush();
    const lost = new Error("connection lost");
    batches[0]!.fail(lost);
    for (const answer of answers) await expect(answer).rejects.toBe(lost);
    const next = group.submit(3);
    await flush();
    batches[1]!.settle([ok("three")]);
    await expect(next).resolves.toBe("three");
  });

  it("a write that answers too few outcomes fails the items it did not answer", async () => {
    const { batches, write } = controlledWrites();
    const group = new GroupCommit<number, string>({ write, maxBatch: 10, maxInFlight: 1 });
    const answers = [1, 2].map((n) => group.submit(n));
    await flush();
    batches[0]!.settle([ok("a")]);
    await expect(answers[0]).resolves.toBe("a");
    await expect(answers[1]).rejects.toThrow(/1 outcomes for 2 items/);
  });

  /**
   * Two items, each submitted inside its own call (`inCall`), the second while the first's batch
   * is in flight, so it leads the next batch; answers what `read` saw inside each batch's write.
   */
  async function contextsSeenByTwoBatches(
    captureContext: () => RunInContext,
    inCall: (name: string, submit: () => Promise<string>) => Promise<string>,
    read: () => string | undefined,
  ): Promise<(string | undefined)[]> {
    const seen: (string | undefined)[] = [];
    const { batches, write } = controlledWrites();
    const group = new GroupCommit<number, string>({
      write: (items) => {
        seen.push(read());
        return write(items);
      },
      maxBatch: 10,
      maxInFlight: 1,
      captureContext,
    });
    const first = inCall("A", () => group.submit(1));
    await flush();
    const second = inCall("B", () => group.submit(2));
    await flush();
    batches[0]!.settle([ok("1")]);
    await first;
    await flush();
    batches[1]!.settle([ok("2")]);
    await second;
    return seen;
  }

  it("with captureContext, a batch runs in its first submitter's async context, not in that of the batch before it", async () => {
    const call = new AsyncLocalStorage<string>();
    const seen = await contextsSeenByTwoBatches(
      () => AsyncLocalStorage.snapshot(),
      (name, submit) => call.run(`call ${name}`, submit),
      () => call.getStore(),
    );
    expect(seen).toEqual(["call A", "call B"]);
  });

  it("the fault injector's captureCall carries each call's fault scope into the batch it leads", async () => {
    const injector = new FaultInjector({ rules: [] });
    const operations: Record<string, string> = { A: "startJob", B: "insertJob" };
    const seen = await contextsSeenByTwoBatches(
      injector.captureCall,
      (name, submit) => injector.scope(operations[name]!, submit),
      () => injector.current()?.operation,
    );
    expect(seen).toEqual(["startJob", "insertJob"]);
  });
});
