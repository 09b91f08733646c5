/**
 * What happens when the write that ends a job's step fails (issue #16 A, B and
 * the amended DECISIONS D6), through the service layer on both stores:
 * - a write that would fail the same way every time (outputs beyond
 *   max_allowed_packet, an enormous failure message) fails the task's attempt
 *   or is cut to fit, instead of re-running the task forever;
 * - a write whose answer was lost leaves the job "unsettled": before it acts
 *   again it follows the database (state and outputs), and never moves the job
 *   from a state the database does not have;
 * - a result reported while the database is unreachable is kept and written
 *   when it is back, so completed work is not redone.
 */
import { randomBytes } from "node:crypto";
import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import { unavailable } from "../../src/core/errors.ts";
import { CLEANUP_TASK, COMMIT_TASK, taskIndex } from "../../src/core/ids.ts";
import { BYTES, TaskGraphBuilder } from "../../testkit/task-graph-builder.ts";
import { encodeTaskOutputs } from "../../src/core/task-outputs.ts";
import type { JobStore } from "../../src/db/job-store.ts";
import { MariaDbJobStore } from "../../src/db/mariadb-job-store.ts";
import { MemoryJobStore } from "../../testkit/memory-job-store.ts";
import { createDb } from "../../src/db/connection.ts";
import { migrateToLatest } from "../../src/db/migrate.ts";
import { startMariaDb } from "../../testkit/mariadb.ts";
import { FaultyStore } from "./helpers/faulty-store.ts";
import { Harness } from "./helpers/harness.ts";
import { jobAtFinishingReport } from "./helpers/finishing-report.ts";
import { kindOf } from "./helpers/outcomes.ts";
import { STORE_KINDS, storeFixture } from "./helpers/stores.ts";
import { cancelJob } from "../../src/service/cancel-job.ts";
import { getJobError } from "../../src/service/get-job-error.ts";
import { getJobOutputs } from "../../src/service/get-job-outputs.ts";
import { getJobState } from "../../src/service/get-job-state.ts";
import { jobTasks } from "../../src/service/inspect-engine.ts";
import { waitFor } from "../../testkit/wait-for.ts";

const out = (text: string): Uint8Array => new TextEncoder().encode(text);
const unreachable = () => unavailable("database down (injected)");
/** Enough failures that the database stays down until `heal()`. */
const DOWN = 1_000_000;
const MiB = 1024 * 1024;

const single = (policy = {}) => new TaskGraphBuilder().task({ inputs: [BYTES], outputs: [BYTES], policy });

/** A store whose server has this max_allowed_packet (MariaDB: a private server, set globally before connecting). */
async function storeWithPacket(kind: string, packet: number): Promise<{ store: JobStore; close: () => Promise<void> }> {
  if (kind === "memory") return { store: new MemoryJobStore({ maxAllowedPacket: packet }), close: async () => {} };
  const server = await startMariaDb();
  const admin = createDb({ url: await server.createDatabase("packet"), maxConnections: 1 });
  await sql`SET GLOBAL max_allowed_packet = ${sql.lit(packet)}`.execute(admin);
  await admin.destroy();
  const db = createDb({ url: await server.createDatabase("packet"), maxConnections: 4 });
  await migrateToLatest(db);
  return {
    store: new MariaDbJobStore(db),
    close: async () => {
      await db.destroy();
      await server.destroy();
    },
  };
}

/** Reads of the job row fail too: the engine cannot find out what happened. */
function readsDown(faulty: FaultyStore): void {
  faulty.failNext("getJobState", unreachable, DOWN);
  faulty.failNext("getJobOutcome", unreachable, DOWN);
  faulty.failNext("getJobOutputs", unreachable, DOWN);
}

for (const storeKind of STORE_KINDS) {
  describe(`write outcomes (${storeKind} store)`, () => {
    const fixture = storeFixture(storeKind);

    describe("a write that would fail the same way every time (issue #16 A)", () => {
      it("job outputs too large for one statement fail the task's attempt, then the job, naming max_allowed_packet", async () => {
        // MariaDB's default packet (16 MiB); the run's shared server allows 1 GiB, so MariaDB gets a server of its own.
        const packet = 16 * MiB;
        const { store, close } = await storeWithPacket(storeKind, packet);
        try {
          const h = await Harness.create(store);
          const { jobId } = await h.submitAndStart(single({ maxNumRetry: 1 }));
          const big = randomBytes(9 * MiB); // incompressible; sent as hex: 18 MiB
          const first = await h.register(jobId, 0);
          expect(await kindOf(h.succeed(jobId, 0, first.taskInstanceId, [big]))).toBe("invalid_argument");
          expect(jobTasks(h.service.engine, jobId)[0]).toMatchObject({ state: "Ready", retriesLeft: 0, liveInstances: 0 });
          expect(await h.drain()).toEqual([taskIndex(0)]);
          const second = await h.register(jobId, 0);
          expect(await kindOf(h.succeed(jobId, 0, second.taskInstanceId, [big]))).toBe("invalid_argument");
          expect(await getJobState(h.service.engine, jobId)).toBe("Failed");
          expect(await store.getJobState(jobId)).toBe("Failed");
          expect(await getJobError(h.service.engine, jobId)).toMatch(/max_allowed_packet of 16777216 bytes/);
          await h.close();
        } finally {
          await close();
        }
      });

      it("an over-long failure message is cut to what can be stored, and the job fails with it", async () => {
        const h = await Harness.create(fixture.store);
        const { jobId } = await h.submitAndStart(single({ maxNumRetry: 0 }));
        const instance = await h.register(jobId, 0);
        const message = "e".repeat(17 * MiB); // above the whole 16 MiB packet
        expect(await h.fail(jobId, 0, instance.taskInstanceId, message)).toBe("Failed");
        expect(await fixture.store.getJobState(jobId)).toBe("Failed");
        const stored = await fixture.store.getJobError(jobId);
        expect(stored.length).toBeLessThanOrEqual(MiB);
        expect(stored).toMatch(/^e{1000}/);
        expect(stored).toMatch(/truncated/);
        await h.close();
      });
    });

    describe("an unknown outcome (issue #16 B)", () => {
      it("a lost answer to CancelJob: the cancelled job's cleanup runs, and a last failed attempt does not fail it", async () => {
        const faulty = new FaultyStore(fixture.store);
        const h = await Harness.create(faulty.store);
        const { jobId } = await h.submitAndStart(single({ maxNumRetry: 0 }).cleanup());
        const instance = await h.register(jobId, 0);
        faulty.loseAnswerOfNext("cancelJob");
        readsDown(faulty);
        expect(await kindOf(cancelJob(h.service.engine, jobId))).toBe("internal");
        expect(await fixture.store.getJobState(jobId)).toBe("CleanupReady");
        faulty.heal();
        // The report comes from a task of a job the user cancelled: stale, and the job is not failed.
        expect(await kindOf(h.fail(jobId, 0, instance.taskInstanceId, "last attempt"))).toBe("failed_precondition");
        expect(await fixture.store.getJobState(jobId)).toBe("CleanupReady");
        expect(await getJobState(h.service.engine, jobId)).toBe("CleanupReady");
        expect(await h.drain("cleanup")).toEqual([CLEANUP_TASK]);
        const cleanup = await h.register(jobId, CLEANUP_TASK);
        expect(await h.succeed(jobId, CLEANUP_TASK, cleanup.taskInstanceId)).toBe("Cancelled");
        expect(await fixture.store.getJobState(jobId)).toBe("Cancelled");
        await h.close();
      });

      it("a lost answer to the last task's success: the task does not run again and the commit task gets the outputs", async () => {
        const faulty = new FaultyStore(fixture.store);
        const h = await Harness.create(faulty.store);
        const { jobId } = await h.submitAndStart(single({ maxNumRetry: 0 }).commit());
        const instance = await h.register(jobId, 0);
        faulty.loseAnswerOfNext("commitJobOutputs");
        readsDown(faulty);
        // Accepted: the result is kept until the database says whether it has it.
        expect(await kindOf(h.succeed(jobId, 0, instance.taskInstanceId, [out("v")]))).toBe("ok:Running");
        expect(await h.drain("task")).toEqual([]);
        expect(await kindOf(getJobState(h.service.engine, jobId))).toBe("unavailable");
        faulty.heal();
        expect(await h.service.reconcileUnsettledJobs()).toBe(0);
        expect(await getJobState(h.service.engine, jobId)).toBe("CommitReady");
        expect(await h.drain("task")).toEqual([]);
        expect(await h.drain("commit")).toEqual([COMMIT_TASK]);
        const commit = await h.register(jobId, COMMIT_TASK);
        expect(commit.serializedTaskIo).toEqual(encodeTaskOutputs([out("v")]));
        expect(await h.succeed(jobId, COMMIT_TASK, commit.taskInstanceId)).toBe("Succeeded");
        expect(await getJobOutputs(h.service.engine, jobId)).toEqual(encodeTaskOutputs([out("v")]));
        await h.close();
      });

      it("a lost answer to the last task's success, then CancelJob: answers Succeeded, and GetJobOutputs has the outputs", async () => {
        const faulty = new FaultyStore(fixture.store);
        const h = await Harness.create(faulty.store);
        const { jobId } = await h.submitAndStart(single());
        const instance = await h.register(jobId, 0);
        faulty.loseAnswerOfNext("commitJobOutputs");
        readsDown(faulty);
        expect(await kindOf(h.succeed(jobId, 0, instance.taskInstanceId, [out("v")]))).toBe("ok:Running");
        faulty.heal();
        expect(await cancelJob(h.service.engine, jobId)).toBe("Succeeded");
        expect(await getJobState(h.service.engine, jobId)).toBe("Succeeded");
        expect(await getJobOutputs(h.service.engine, jobId)).toEqual(encodeTaskOutputs([out("v")]));
        await h.close();
      });

      it("a lost answer to a failure that exhausted the retries: the job is Failed, found without a new report", async () => {
        const faulty = new FaultyStore(fixture.store);
        const h = await Harness.create(faulty.store);
        const { jobId } = await h.submitAndStart(single({ maxNumRetry: 0 }));
        const instance = await h.register(jobId, 0);
        faulty.loseAnswerOfNext("failJob");
        readsDown(faulty);
        expect(await kindOf(h.fail(jobId, 0, instance.taskInstanceId, "boom"))).toBe("ok:Running");
        expect(await h.drain("task")).toEqual([]);
        faulty.heal();
        expect(await getJobState(h.service.engine, jobId)).toBe("Failed");
        expect(await getJobError(h.service.engine, jobId)).toBe("boom");
        await h.close();
      });
    });

    describe("the database unreachable while a report's result is written (DECISIONS D6, amended)", () => {
      it("the background reconciler writes a kept result once the database is back, with no further call on the job", async () => {
        const faulty = new FaultyStore(fixture.store);
        const h = await Harness.create(faulty.store);
        const { jobId } = await h.submitAndStart(single({ maxNumRetry: 0 }));
        const instance = await h.register(jobId, 0);
        faulty.failNext("commitJobOutputs", unreachable, DOWN);
        expect(await h.succeed(jobId, 0, instance.taskInstanceId, [out("v")])).toBe("Running");
        expect(h.service.reconciler.size).toBe(1);
        faulty.heal();
        await waitFor("the reconciler to settle the job", () => h.service.reconciler.size === 0, { timeoutMs: 10_000, intervalMs: 5 });
        expect(await fixture.store.getJobState(jobId)).toBe("Succeeded");
        expect(h.service.reconciler.keptBytes).toBe(0);
        await h.close();
      });

      const cases: { op: keyof JobStore; name: string; after: string }[] = [
        { op: "commitJobOutputs", name: "the last task's success", after: "Succeeded" },
        { op: "failJob", name: "a failure that exhausts the retries", after: "Failed" },
        { op: "succeedCommittedJob", name: "the commit task's success", after: "Succeeded" },
        { op: "finishCleanup", name: "the cleanup task's success", after: "Cancelled" },
      ];
      for (const { op, name, after } of cases) {
        it(`${name}: answers OK, keeps the result, does not dispatch the task again, writes it when the database is back`, async () => {
          const faulty = new FaultyStore(fixture.store);
          const h = await Harness.create(faulty.store);
          const { jobId, taskId, lane, before } = await jobAtFinishingReport(h, op);
          faulty.failNext(op, unreachable, DOWN);
          const instance = await h.register(jobId, taskId);
          const report =
            op === "failJob"
              ? h.fail(jobId, taskId, instance.taskInstanceId, "final failure")
              : h.succeed(jobId, taskId, instance.taskInstanceId, [out("v")]);
          expect(await kindOf(report)).toBe(`ok:${before}`);
          expect(await fixture.store.getJobState(jobId)).toBe(before);
          // Known not written: the cached state is still the database's.
          expect(await getJobState(h.service.engine, jobId)).toBe(before);
          expect(await h.drain(lane)).toEqual([]);
          expect(await kindOf(h.register(jobId, taskId))).not.toMatch(/^ok/);
          expect(await h.service.reconcileUnsettledJobs()).toBe(1); // still down: still kept
          faulty.heal();
          expect(await h.service.reconcileUnsettledJobs()).toBe(0);
          expect(await getJobState(h.service.engine, jobId)).toBe(after);
          expect(await fixture.store.getJobState(jobId)).toBe(after);
          if (op === "failJob") expect(await getJobError(h.service.engine, jobId)).toBe("final failure");
          if (after === "Succeeded") expect(await getJobOutputs(h.service.engine, jobId)).toEqual(encodeTaskOutputs([out("v")]));
          expect(await h.drain(lane)).toEqual([]);
          await h.close();
        });
      }
    });
  });
}
