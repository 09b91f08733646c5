/**
 * The JobStore methods the operator's repairs use (failJobBy, retryFailedJob,
 * getJob, markExecutionManagerDead, deleteCheckpoints): the same answers and
 * errors from the memory store as from MariaDB.
 */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { JobStore } from "../../src/db/job-store.ts";
import { kindOf } from "./helpers/outcomes.ts";
import { STORE_KINDS, storeFixture } from "./helpers/stores.ts";

const bytes = (...values: number[]): Uint8Array => new Uint8Array(values);
const UNKNOWN = 999_999_999n;

async function newJob(store: JobStore): Promise<bigint> {
  const rg = await store.addResourceGroup(`rg-${randomUUID()}`, bytes(1));
  return store.insertJob(rg, bytes(1, 2), bytes(3));
}

for (const storeKind of STORE_KINDS) {
  describe(`JobStore operator methods (${storeKind})`, () => {
    const fixture = storeFixture(storeKind);

    it("failJobBy: whoever the table allows, from the states given; returns the state left", async () => {
      const store = fixture.store;
      const ready = await newJob(store);
      expect(await kindOf(store.failJobBy(ready, "no", "engine"))).toBe("failed_precondition"); // only operator and quarantine fail a Ready job
      expect(await kindOf(store.failJobBy(ready, "no", "operator", ["Running"]))).toBe("failed_precondition");
      expect(await store.failJobBy(ready, "failed by operator: x", "operator")).toBe("Ready");
      const row = await store.getJob(ready);
      expect(row).toMatchObject({ id: ready, state: "Failed", errorMessage: "failed by operator: x", outputs: null });
      expect(row.endedAt).toBeInstanceOf(Date);
      expect([...row.compressedTaskGraph]).toEqual([1, 2]);
      expect([...row.compressedInputs]).toEqual([3]);
      expect(await kindOf(store.failJobBy(ready, "again", "operator"))).toBe("failed_precondition");
      expect(await kindOf(store.failJobBy(UNKNOWN, "who", "operator"))).toBe("not_found");
      const running = await newJob(store);
      await store.startJob(running);
      expect(await store.failJobBy(running, "quarantined: y", "quarantine", ["Running", "CommitReady"])).toBe("Running");
    });

    it("retryFailedJob: Failed → Running, clearing the error, the outputs and the end time; any other state is refused", async () => {
      const store = fixture.store;
      const id = await newJob(store);
      expect(await kindOf(store.retryFailedJob(id))).toBe("failed_precondition");
      await store.startJob(id);
      await store.commitJobOutputs(id, bytes(0, 0, 0, 0, 0), true);
      expect(await store.failJobBy(id, "commit task failed", "engine")).toBe("CommitReady");
      expect((await store.getJob(id)).outputs).not.toBeNull(); // kept while Failed
      await store.retryFailedJob(id);
      expect(await store.getJob(id)).toMatchObject({ state: "Running", errorMessage: null, endedAt: null, outputs: null });
      expect(await kindOf(store.retryFailedJob(id))).toBe("failed_precondition");
      expect(await kindOf(store.retryFailedJob(UNKNOWN))).toBe("not_found");
      expect(await kindOf(store.getJob(UNKNOWN))).toBe("not_found");
    });

    it("markExecutionManagerDead: true when it was alive, false when already dead; an unknown one is illegal", async () => {
      const store = fixture.store;
      const em = await store.registerExecutionManager("127.0.0.1");
      expect(await store.markExecutionManagerDead(em)).toBe(true);
      expect(await store.executionManagerLiveness(em)).toBe("dead");
      expect(await kindOf(store.heartbeatExecutionManager(em))).toBe("failed_precondition");
      expect(await store.markExecutionManagerDead(em)).toBe(false);
      expect(await kindOf(store.markExecutionManagerDead(UNKNOWN))).toBe("illegal_execution_manager");
    });

    it("deleteCheckpoints: drops the given tasks' checkpoints of one job and says how many went", async () => {
      const store = fixture.store;
      const id = await newJob(store);
      const other = await newJob(store);
      await store.writeCheckpoints([0, 1, 2].map((taskIndex) => ({ jobId: id, taskIndex, outputs: bytes(taskIndex) })));
      await store.writeCheckpoints([{ jobId: other, taskIndex: 0, outputs: bytes(9) }]);
      expect(await store.deleteCheckpoints(id, [0, 2, 5])).toBe(2);
      expect(await store.deleteCheckpoints(id, [])).toBe(0);
      expect((await store.readCheckpoints(id)).map((c) => c.taskIndex)).toEqual([1]);
      expect((await store.readCheckpoints(other)).map((c) => c.taskIndex)).toEqual([0]);
    });
  });
}
