/**
 * The JobStore contract, the same for MemoryJobStore and MariaDbJobStore: the
 * engine's tests on the memory store only mean something if both answer alike.
 */
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { isStorageError } from "../../src/core/errors.ts";
import type { JobStore } from "../../src/db/job-store.ts";
import { STORE_KINDS, storeFixture } from "./helpers/stores.ts";

async function kindOf(promise: Promise<unknown>): Promise<string> {
  try {
    const value = await promise;
    return `ok:${value === undefined ? "" : String(value)}`;
  } catch (error) {
    if (isStorageError(error)) return error.kind;
    throw error;
  }
}

const bytes = (...values: number[]): Uint8Array => new Uint8Array(values);

async function newJob(store: JobStore): Promise<bigint> {
  const rg = await store.addResourceGroup(`rg-${randomUUID()}`, bytes(1));
  return store.insertJob(rg, bytes(1, 2), bytes(3));
}

for (const storeKind of STORE_KINDS) {
  describe(`JobStore contract (${storeKind})`, () => {
    const fixture = storeFixture(storeKind);

    it("walks a job through its transitions and refuses the ones the table forbids", async () => {
      const store = fixture.store;
      expect(await kindOf(store.insertJob(999_999n, bytes(1), bytes(2)))).toBe("unauthenticated");
      const id = await newJob(store);
      expect(await store.getJobState(id)).toBe("Ready");
      expect(await kindOf(store.commitJobOutputs(id, bytes(0, 0, 0, 0, 0), false))).toBe("failed_precondition");
      await store.startJob(id);
      expect(await kindOf(store.startJob(id))).toBe("failed_precondition");
      await store.commitJobOutputs(id, bytes(0, 0, 0, 0, 0), true);
      expect(await store.getJobState(id)).toBe("CommitReady");
      expect(await kindOf(store.getJobOutputs(id))).toBe("failed_precondition");
      await store.succeedCommittedJob(id);
      expect(Buffer.from(await store.getJobOutputs(id)).toString("hex")).toBe("0000000000");
      expect(await kindOf(store.failJob(id, "too late", "Succeeded"))).toBe("failed_precondition");
      expect(await kindOf(store.getJobError(id))).toBe("failed_precondition");
      expect(await store.cancelJob(id, true)).toBe("Succeeded"); // idempotent on a terminal job
    });

    it("tells a job's state and the size of its stored outputs without reading them", async () => {
      const store = fixture.store;
      expect(await kindOf(store.getJobOutputsSize(999_999_999n))).toBe("not_found");
      const id = await newJob(store);
      expect(await store.getJobOutputsSize(id)).toEqual({ state: "Ready", bytes: undefined });
      await store.startJob(id);
      await store.commitJobOutputs(id, new Uint8Array(70_000), true);
      expect(await store.getJobOutputsSize(id)).toEqual({ state: "CommitReady", bytes: 70_000 });
      await store.succeedCommittedJob(id);
      expect(await store.getJobOutputsSize(id)).toEqual({ state: "Succeeded", bytes: 70_000 });
    });

    it("cancels per the D4 table, idempotently", async () => {
      const store = fixture.store;
      const ready = await newJob(store);
      expect(await store.cancelJob(ready, true)).toBe("Cancelled");
      const running = await newJob(store);
      await store.startJob(running);
      expect(await store.cancelJob(running, true)).toBe("CleanupReady");
      expect(await store.cancelJob(running, true)).toBe("CleanupReady");
      await store.finishCleanup(running);
      expect(await store.getJobState(running)).toBe("Cancelled");
      const failing = await newJob(store);
      await store.startJob(failing);
      await store.cancelJob(failing, true);
      expect(await kindOf(store.failJob(failing, "cleanup failed", "Running"))).toBe("failed_precondition");
      expect(await store.getJobState(failing)).toBe("CleanupReady");
      await store.failJob(failing, "cleanup failed", "CleanupReady");
      expect(await store.getJobError(failing)).toBe("cleanup failed");
      for (const call of [() => store.getJobState(0n), () => store.startJob(0n), () => store.cancelJob(0n, false), () => store.failJob(0n, "x", "Running")]) {
        expect(await kindOf(call())).toBe("not_found");
      }
    });

    it("tracks execution managers: alive, dead after silence (once), unknown", async () => {
      const store = fixture.store;
      const em = await store.registerExecutionManager("127.0.0.1");
      expect(await store.executionManagerLiveness(em)).toBe("alive");
      expect(await store.executionManagerLiveness(888_888n)).toBe("unknown");
      expect(await kindOf(store.heartbeatExecutionManager(888_888n))).toBe("illegal_execution_manager");
      await sleep(150);
      const reaped = await store.reapDeadExecutionManagers(100);
      expect(reaped).toContain(em);
      expect(await store.reapDeadExecutionManagers(100)).not.toContain(em);
      expect(await store.executionManagerLiveness(em)).toBe("dead");
      expect(await kindOf(store.heartbeatExecutionManager(em))).toBe("failed_precondition");
    });

    it("keeps one scheduler, resource groups and checkpoints", async () => {
      const store = fixture.store;
      await store.registerScheduler("a", 1);
      const b = await store.registerScheduler("b", 2);
      expect(await store.listSchedulers()).toEqual([{ schedulerId: b, host: "b", port: 2 }]);
      const name = `rg-${randomUUID()}`;
      const rg = await store.addResourceGroup(name, bytes(9, 9));
      expect(await kindOf(store.addResourceGroup(name, bytes(1)))).toBe("already_exists");
      expect(await kindOf(store.verifyResourceGroup(rg, bytes(9, 9)))).toBe("ok:");
      expect(await kindOf(store.verifyResourceGroup(rg, bytes(9)))).toBe("unauthenticated");
      const job = await newJob(store);
      await store.writeCheckpoints([
        { jobId: job, taskIndex: 2, outputs: bytes(2) },
        { jobId: job, taskIndex: 0, outputs: bytes(0) },
      ]);
      await store.writeCheckpoints([{ jobId: job, taskIndex: 2, outputs: bytes(7) }]); // written once: ignored
      const read = await store.readCheckpoints(job);
      expect(read.map((c) => [c.taskIndex, [...c.outputs]])).toEqual([
        [0, [0]],
        [2, [2]],
      ]);
    });
  });
}
