import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { canTransition, JOB_STATES, JOB_TRANSITIONS, isTerminal, type JobState, type TransitionActor } from "../../src/core/job-state.ts";
import type { Db } from "../../src/db/connection.ts";
import { cancelJob } from "../../src/db/jobs/cancelJob.ts";
import { commitJobOutputs } from "../../src/db/jobs/commitJobOutputs.ts";
import { failJob } from "../../src/db/jobs/failJob.ts";
import { finishCleanup } from "../../src/db/jobs/finishCleanup.ts";
import { getJob } from "../../src/db/jobs/getJob.ts";
import { getJobError } from "../../src/db/jobs/getJobError.ts";
import { getJobOutputs } from "../../src/db/jobs/getJobOutputs.ts";
import { getJobState } from "../../src/db/jobs/getJobState.ts";
import { insertJob } from "../../src/db/jobs/insertJob.ts";
import { isQuarantineMessage, quarantineJob } from "../../src/db/jobs/quarantineJob.ts";
import { retryFailedJob } from "../../src/db/jobs/retryFailedJob.ts";
import { startJob } from "../../src/db/jobs/startJob.ts";
import { succeedCommittedJob } from "../../src/db/jobs/succeedCommittedJob.ts";
import { transitionJob } from "../../src/db/jobs/transitionJob.ts";
import { addRetryListener, type RetryListener } from "../../src/db/retry-policy.ts";
import { GRAPH, INPUTS, migratedDb, OUTPUTS, rawJobRow, seedJob, seedResourceGroup } from "./db-fixture.ts";
import { expectStorageError } from "./expect-storage-error.ts";

const MISSING = 987_654_321n;

describe("jobs", () => {
  let db: Db;
  let rg: bigint;
  beforeAll(async () => {
    ({ db } = await migratedDb("jobs"));
    rg = await seedResourceGroup(db);
  });
  afterAll(async () => {
    await db?.destroy();
  });

  const newJob = () => insertJob(db, { resourceGroupId: rg, compressedTaskGraph: GRAPH, compressedInputs: INPUTS });

  describe("register and read", () => {
    it("test_register_job: a new job is Ready, its blobs stored verbatim", async () => {
      const before = Date.now();
      const id = await newJob();
      expect(typeof id).toBe("bigint");
      expect(await getJobState(db, id)).toBe("Ready");
      const row = await getJob(db, id, { withBlobs: true });
      expect(row).toMatchObject({ id, resourceGroupId: rg, state: "Ready", errorMessage: null, endedAt: null, outputs: null });
      expect(Buffer.from(row.compressedTaskGraph)).toEqual(Buffer.from(GRAPH));
      expect(Buffer.from(row.compressedInputs)).toEqual(Buffer.from(INPUTS));
      // Database time, read back as UTC: within a few seconds of ours.
      // Stored as the right instant: a time-zone mistake would be 30 min or more off (a loose bound, not a deadline).
      expect(Math.abs(row.createdAt.getTime() - before)).toBeLessThan(10 * 60_000);
    });

    it("getJob without blobs leaves them out", async () => {
      const id = await newJob();
      const row = await getJob(db, id);
      expect(row.compressedTaskGraph).toBeUndefined();
      expect(row.compressedInputs).toBeUndefined();
      expect(row.outputs).toBeUndefined();
      expect(row.state).toBe("Ready");
    });

    it("stores a plain Uint8Array view (not a Buffer) byte for byte", async () => {
      const backing = new Uint8Array([9, 9, 1, 2, 3, 0, 255, 9]);
      const view = backing.subarray(2, 7);
      const id = await insertJob(db, { resourceGroupId: rg, compressedTaskGraph: view, compressedInputs: new Uint8Array() });
      const row = await getJob(db, id, { withBlobs: true });
      expect([...row.compressedTaskGraph]).toEqual([1, 2, 3, 0, 255]);
      expect(row.compressedInputs.byteLength).toBe(0);
    });

    it("test_register_job_invalid_resource_group: unauthenticated", async () => {
      await expectStorageError(
        insertJob(db, { resourceGroupId: MISSING, compressedTaskGraph: GRAPH, compressedInputs: INPUTS }),
        "unauthenticated",
        "invalid resource group",
      );
    });

    it("not-found variants: every job operation on a missing id is not_found", async () => {
      const cases: [string, () => Promise<unknown>][] = [
        ["getJobState", () => getJobState(db, MISSING)],
        ["getJobOutputs", () => getJobOutputs(db, MISSING)],
        ["getJobError", () => getJobError(db, MISSING)],
        ["getJob", () => getJob(db, MISSING)],
        ["startJob", () => startJob(db, MISSING)],
        ["transitionJob", () => transitionJob(db, MISSING, { to: "Running" })],
        ["commitJobOutputs", () => commitJobOutputs(db, MISSING, OUTPUTS, false)],
        ["succeedCommittedJob", () => succeedCommittedJob(db, MISSING)],
        ["cancelJob", () => cancelJob(db, MISSING, false)],
        ["finishCleanup", () => finishCleanup(db, MISSING)],
        ["failJob", () => failJob(db, MISSING, "boom")],
        ["quarantineJob", () => quarantineJob(db, MISSING, "bad graph")],
      ];
      for (const [name, call] of cases) {
        const error = await expectStorageError(call(), "not_found", "job not found");
        expect(error, name).toBeDefined();
      }
    });

    it("a lock on a missing id does not block registration (READ COMMITTED: no gap lock)", async () => {
      const blocker = await db.startTransaction().setIsolationLevel("read committed").execute();
      try {
        await blocker.selectFrom("jobs").select("state").where("id", "=", MISSING).forUpdate().execute();
        // Blocked, the insert would wait out innodb_lock_wait_timeout and be retried (or fail) while the lock is held.
        const retries: Parameters<RetryListener>[0][] = [];
        const stopListening = addRetryListener((info) => retries.push(info));
        try {
          expect(await newJob()).toBeGreaterThan(0n);
        } finally {
          stopListening();
        }
        expect(retries).toEqual([]);
      } finally {
        await blocker.rollback().execute();
      }
    });
  });

  describe("the operations of spec §7.11", () => {
    it("test_start_job and test_start_job_wrong_state", async () => {
      const id = await newJob();
      expect(await startJob(db, id)).toEqual({ from: "Ready", to: "Running" });
      expect(await getJobState(db, id)).toBe("Running");
      await expectStorageError(startJob(db, id), "failed_precondition", "job in state Running, expected Ready");
    });

    it("test_set_state_valid_transition and test_set_state_invalid_transition", async () => {
      const id = await newJob();
      expect(await transitionJob(db, id, { to: "Running" })).toEqual({ from: "Ready", to: "Running" });
      const other = await newJob();
      await expectStorageError(
        transitionJob(db, other, { to: "Succeeded", outputs: OUTPUTS }),
        "failed_precondition",
        "job in state Ready cannot move to Succeeded",
      );
      expect(await getJobState(db, other)).toBe("Ready");
    });

    it("test_commit_outputs_without_commit_task and test_get_outputs_succeeded_job", async () => {
      const id = await seedJob(db, rg, "Running");
      expect(await commitJobOutputs(db, id, OUTPUTS, false)).toEqual({ from: "Running", to: "Succeeded" });
      expect(Buffer.from(await getJobOutputs(db, id))).toEqual(Buffer.from(OUTPUTS));
      const row = await getJob(db, id);
      expect(row.endedAt).toBeInstanceOf(Date);
    });

    it("test_commit_outputs_with_commit_task, then the commit task succeeds", async () => {
      const id = await seedJob(db, rg, "Running");
      expect(await commitJobOutputs(db, id, OUTPUTS, true)).toEqual({ from: "Running", to: "CommitReady" });
      const row = await getJob(db, id, { withBlobs: true });
      expect(row.endedAt).toBeNull();
      expect(Buffer.from(row.outputs!)).toEqual(Buffer.from(OUTPUTS));
      await expectStorageError(getJobOutputs(db, id), "failed_precondition", "job in state CommitReady, expected Succeeded");
      expect(await succeedCommittedJob(db, id)).toEqual({ from: "CommitReady", to: "Succeeded" });
      expect(Buffer.from(await getJobOutputs(db, id))).toEqual(Buffer.from(OUTPUTS));
      await expectStorageError(succeedCommittedJob(db, id), "failed_precondition", "job in state Succeeded, expected CommitReady");
    });

    it("test_commit_outputs_wrong_state: from Ready, rejected", async () => {
      const id = await newJob();
      await expectStorageError(commitJobOutputs(db, id, OUTPUTS, false), "failed_precondition", "job in state Ready, expected Running");
      expect((await rawJobRow(db, id))?.serialized_job_outputs).toBeNull();
    });

    it("test_get_outputs_wrong_state and test_get_error_wrong_state", async () => {
      const id = await newJob();
      await expectStorageError(getJobOutputs(db, id), "failed_precondition", "job in state Ready, expected Succeeded");
      await expectStorageError(getJobError(db, id), "failed_precondition", "job in state Ready, expected Failed");
    });

    it("a Succeeded row without outputs or a Failed row without a message is internal", async () => {
      const succeeded = await seedJob(db, rg, "Succeeded");
      await db.updateTable("jobs").set({ serialized_job_outputs: null }).where("id", "=", succeeded).execute();
      await expectStorageError(getJobOutputs(db, succeeded), "internal", /has no stored outputs/);
      const failed = await seedJob(db, rg, "Failed");
      await db.updateTable("jobs").set({ error_message: null }).where("id", "=", failed).execute();
      await expectStorageError(getJobError(db, failed), "internal", /has no stored error message/);
    });

    it("test_fail_job, test_get_error_failed_job and test_fail_terminal_state", async () => {
      const id = await seedJob(db, rg, "Running");
      const message = "task 3 failed: exit code 1 — ünïcödé ✓";
      expect(await failJob(db, id, message)).toEqual({ from: "Running", to: "Failed" });
      expect(await getJobError(db, id)).toBe(message);
      expect((await getJob(db, id)).endedAt).toBeInstanceOf(Date);
      await expectStorageError(failJob(db, id, "again"), "failed_precondition", "job in state Failed cannot move to Failed");
      expect(await getJobError(db, id)).toBe(message);
    });

    it("a Ready job fails only by quarantine or an operator", async () => {
      const id = await newJob();
      await expectStorageError(failJob(db, id, "no"), "failed_precondition", "job in state Ready cannot move to Failed");
      expect(await quarantineJob(db, id, "undecodable task graph")).toEqual({ from: "Ready", to: "Failed" });
      const message = await getJobError(db, id);
      expect(message).toBe("quarantined: undecodable task graph");
      expect(isQuarantineMessage(message)).toBe(true);
      expect(isQuarantineMessage("task failed")).toBe(false);
      const other = await newJob();
      expect(await failJob(db, other, "operator says so", "operator")).toEqual({ from: "Ready", to: "Failed" });
    });

    it("test_cancel_from_ready_state: Ready → Cancelled even with a cleanup task", async () => {
      expect(await cancelJob(db, await newJob(), false)).toBe("Cancelled");
      const id = await newJob();
      expect(await cancelJob(db, id, true)).toBe("Cancelled");
      expect((await getJob(db, id)).endedAt).toBeInstanceOf(Date);
    });

    it("test_cancel_job_without_cleanup_transitions_to_cancelled (Running and CommitReady)", async () => {
      expect(await cancelJob(db, await seedJob(db, rg, "Running"), false)).toBe("Cancelled");
      expect(await cancelJob(db, await seedJob(db, rg, "CommitReady"), false)).toBe("Cancelled");
    });

    it("test_cancel_job_with_cleanup_transitions_to_cleanup_ready, then cleanup finishes", async () => {
      const id = await seedJob(db, rg, "Running");
      expect(await cancelJob(db, id, true)).toBe("CleanupReady");
      expect((await getJob(db, id)).endedAt).toBeNull();
      expect(await cancelJob(db, await seedJob(db, rg, "CommitReady"), true)).toBe("CleanupReady");
      expect(await finishCleanup(db, id)).toEqual({ from: "CleanupReady", to: "Cancelled" });
      expect((await getJob(db, id)).endedAt).toBeInstanceOf(Date);
      await expectStorageError(finishCleanup(db, id), "failed_precondition", "job in state Cancelled, expected CleanupReady");
    });

    it("test_cancel_already_terminal: idempotent, the current state comes back unchanged (D5)", async () => {
      for (const state of ["CleanupReady", "Succeeded", "Failed", "Cancelled"] as const) {
        const id = await seedJob(db, rg, state);
        const before = await rawJobRow(db, id);
        expect(await cancelJob(db, id, true)).toBe(state);
        expect(await cancelJob(db, id, false)).toBe(state);
        expect(await rawJobRow(db, id)).toEqual(before);
      }
    });

    it("an operator retry of a Failed job clears its end time, message and outputs", async () => {
      const id = await seedJob(db, rg, "CommitReady");
      await failJob(db, id, "commit task failed");
      expect(await retryFailedJob(db, id)).toEqual({ from: "Failed", to: "Running" });
      const row = await getJob(db, id, { withBlobs: true });
      expect(row).toMatchObject({ state: "Running", endedAt: null, errorMessage: null, outputs: null });
      await expectStorageError(retryFailedJob(db, id), "failed_precondition", "job in state Running, expected Failed");
      // The engine may not do it.
      const failed = await seedJob(db, rg, "Failed");
      await expectStorageError(transitionJob(db, failed, { to: "Running" }), "failed_precondition", /cannot move to Running/);
    });

    it("refuses payloads that do not belong to the target state", async () => {
      const id = await seedJob(db, rg, "Running");
      await expectStorageError(transitionJob(db, id, { to: "Failed" }), "internal", /needs an error message/);
      await expectStorageError(transitionJob(db, id, { to: "Cancelled", errorMessage: "x" }), "internal", /only stored on the way to Failed/);
      await expectStorageError(transitionJob(db, id, { to: "Cancelled", outputs: OUTPUTS }), "internal", /CommitReady or Succeeded/);
      await expectStorageError(transitionJob(db, id, { to: "Succeeded" }), "internal", /needs the job's outputs/);
      expect(await getJobState(db, id)).toBe("Running");
    });
  });

  describe("the transition table of DECISIONS D4, pair by pair", () => {
    /** D4 as written in DECISIONS.md: every move some actor may make. */
    const D4: ReadonlyArray<readonly [JobState, JobState]> = [
      ["Ready", "Running"],
      ["Running", "CommitReady"],
      ["Running", "CleanupReady"],
      ["CommitReady", "CleanupReady"],
      ["Running", "Succeeded"],
      ["CommitReady", "Succeeded"],
      ["Running", "Failed"],
      ["CommitReady", "Failed"],
      ["CleanupReady", "Failed"],
      ["Ready", "Failed"],
      ["Ready", "Cancelled"],
      ["Running", "Cancelled"],
      ["CommitReady", "Cancelled"],
      ["CleanupReady", "Cancelled"],
      ["Failed", "Running"],
    ];

    it("the core table allows exactly the D4 moves", () => {
      const allowed = JOB_TRANSITIONS.map((rule) => `${rule.from}->${rule.to}`).sort();
      expect(allowed).toEqual(D4.map(([from, to]) => `${from}->${to}`).sort());
    });

    it("transitionJob allows every pair the table allows and refuses every other, for every actor", async () => {
      const actors: TransitionActor[] = ["engine", "quarantine", "operator"];
      let allowedCount = 0;
      let refusedCount = 0;
      for (const from of JOB_STATES) {
        for (const to of JOB_STATES) {
          for (const by of actors) {
            const id = await seedJob(db, rg, from);
            const request = {
              to,
              by,
              ...(to === "Failed" ? { errorMessage: `failed by ${by}` } : {}),
              ...(to === "CommitReady" || to === "Succeeded" ? { outputs: OUTPUTS } : {}),
            };
            const label = `${from} -> ${to} by ${by}`;
            if (canTransition(from, to, by)) {
              allowedCount++;
              expect(await transitionJob(db, id, request), label).toEqual({ from, to });
              const row = (await rawJobRow(db, id))!;
              expect(row.state, label).toBe(to);
              expect(row.ended_at === null, label).toBe(!isTerminal(to));
              if (to === "Failed") expect(row.error_message, label).toBe(`failed by ${by}`);
            } else {
              refusedCount++;
              const before = await rawJobRow(db, id);
              await expectStorageError(
                transitionJob(db, id, request),
                "failed_precondition",
                `job in state ${from} cannot move to ${to}`,
              );
              expect(await rawJobRow(db, id), label).toEqual(before);
            }
          }
        }
      }
      expect(allowedCount).toBe(JOB_TRANSITIONS.reduce((n, rule) => n + rule.by.length, 0));
      expect(allowedCount + refusedCount).toBe(7 * 7 * 3);
    });
  });

  describe("uint64 ids", () => {
    it("ids above 2^53 round trip through every job operation", async () => {
      const { db: big } = await migratedDb("bigid");
      try {
        const bigRg = await seedResourceGroup(big);
        await sql`ALTER TABLE jobs AUTO_INCREMENT = ${sql.raw((2n ** 60n).toString())}`.execute(big);
        const id = await insertJob(big, { resourceGroupId: bigRg, compressedTaskGraph: GRAPH, compressedInputs: INPUTS });
        expect(id).toBe(2n ** 60n);
        const next = await insertJob(big, { resourceGroupId: bigRg, compressedTaskGraph: GRAPH, compressedInputs: INPUTS });
        expect(next).toBe(2n ** 60n + 1n);
        expect(await getJobState(big, id)).toBe("Ready");
        expect(await startJob(big, id)).toEqual({ from: "Ready", to: "Running" });
        expect(await commitJobOutputs(big, id, OUTPUTS, false)).toEqual({ from: "Running", to: "Succeeded" });
        expect((await getJob(big, id)).id).toBe(id);
        // Near the top of the range: 2^64 - 2.
        await sql`ALTER TABLE jobs AUTO_INCREMENT = ${sql.raw((2n ** 64n - 2n).toString())}`.execute(big);
        const top = await insertJob(big, { resourceGroupId: bigRg, compressedTaskGraph: GRAPH, compressedInputs: INPUTS });
        expect(top).toBe(2n ** 64n - 2n);
        expect(await cancelJob(big, top, false)).toBe("Cancelled");
        expect((await getJob(big, top)).id).toBe(top);
      } finally {
        await big.destroy();
      }
    });
  });
});
