/**
 * The service layer's use cases (spec §7.8, with the statuses of DECISIONS D5
 * as error kinds and every fatal path of spec §8 as an ordinary error), on
 * both stores.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { isStorageError, type ErrorKind } from "../../src/core/errors.ts";
import { CLEANUP_TASK, COMMIT_TASK, taskIndex } from "../../src/core/ids.ts";
import { compressJobInputs } from "../../testkit/job-inputs.ts";
import { BYTES, TaskGraphBuilder } from "../../testkit/task-graph-builder.ts";
import { decodeTaskOutputs } from "../../src/core/task-outputs.ts";
import { compressZstd } from "../../src/core/zstd.ts";
import { silentLogger } from "../../src/observability/logger.ts";
import { StorageService } from "../../src/service/storage-service.ts";
import { Harness } from "./helpers/harness.ts";
import { STORE_KINDS, storeFixture } from "./helpers/stores.ts";
import { addResourceGroup } from "../../src/service/add-resource-group.ts";
import { cancelJob } from "../../src/service/cancel-job.ts";
import { getJobError } from "../../src/service/get-job-error.ts";
import { getJobOutputs } from "../../src/service/get-job-outputs.ts";
import { getJobState } from "../../src/service/get-job-state.ts";
import { getSchedulers } from "../../src/service/get-schedulers.ts";
import { heartbeatExecutionManager } from "../../src/service/heartbeat-execution-manager.ts";
import { jobTasks } from "../../src/service/inspect-engine.ts";
import { pollReadyTasks, returnUndeliveredTasks } from "../../src/service/poll-ready-tasks.ts";
import { refillQueue } from "../../src/service/refill-queue.ts";
import { registerExecutionManager } from "../../src/service/register-execution-manager.ts";
import { registerJob } from "../../src/service/register-job.ts";
import { registerScheduler } from "../../src/service/register-scheduler.ts";
import { registerTaskInstance } from "../../src/service/register-task-instance.ts";
import { reportTaskFailure } from "../../src/service/report-task-failure.ts";
import { reportTaskSuccess } from "../../src/service/report-task-success.ts";
import { startJob } from "../../src/service/start-job.ts";
import { verifyResourceGroup } from "../../src/service/verify-resource-group.ts";

const out = (text: string): Uint8Array => new TextEncoder().encode(text);

async function kindOf(promise: Promise<unknown>): Promise<ErrorKind | "ok"> {
  try {
    await promise;
    return "ok";
  } catch (error) {
    if (isStorageError(error)) return error.kind;
    throw error;
  }
}

const oneTask = (): TaskGraphBuilder => new TaskGraphBuilder().task({ inputs: [BYTES], outputs: [BYTES] });

for (const storeKind of STORE_KINDS) {
  describe(`service (${storeKind} store)`, () => {
    const fixture = storeFixture(storeKind);

    it("registers a job (Ready, cached) and rejects bad submissions with invalid_argument", async () => {
      const h = await Harness.create(fixture.store);
      const { jobId } = await h.submit(oneTask());
      expect(jobId).toBeGreaterThan(0n);
      expect(await getJobState(h.service.engine, jobId)).toBe("Ready");
      expect(h.service.cache.get(jobId)?.jobId).toBe(jobId);
      const rg = h.resourceGroupId;
      const inputs = compressJobInputs([out("x")]);
      const submit = (graph: Uint8Array, jobInputs: Uint8Array, resourceGroupId = rg) =>
        registerJob(h.service.engine, { resourceGroupId, compressedTaskGraph: graph, compressedInputs: jobInputs });
      expect(await kindOf(submit(compressZstd(out("invalid json")), inputs))).toBe("invalid_argument");
      expect(await kindOf(submit(oneTask().toCompressed(), compressJobInputs([])))).toBe("invalid_argument");
      expect(await kindOf(submit(new TaskGraphBuilder().toCompressed(), compressJobInputs([])))).toBe("invalid_argument");
      expect(await kindOf(submit(oneTask().toCompressed(), inputs, 999_999n))).toBe("unauthenticated");
      await h.close();
    });

    it("starts a job once; unknown jobs are not_found everywhere", async () => {
      const h = await Harness.create(fixture.store);
      const { jobId } = await h.submit(oneTask());
      expect(await startJob(h.service.engine, jobId)).toBe("Running");
      expect(await kindOf(startJob(h.service.engine, jobId))).toBe("failed_precondition");
      expect(await h.drain()).toEqual([taskIndex(0)]);
      const unknown = 987_654_321n;
      for (const call of [
        () => startJob(h.service.engine, unknown),
        () => cancelJob(h.service.engine, unknown),
        () => getJobState(h.service.engine, unknown),
        () => getJobOutputs(h.service.engine, unknown),
        () => getJobError(h.service.engine, unknown),
      ]) {
        expect(await kindOf(call())).toBe("not_found");
      }
      await h.close();
    });

    it("cancels in every state, idempotently (D4, D5)", async () => {
      const h = await Harness.create(fixture.store);
      // Ready with a cleanup task: straight to Cancelled (nothing ran).
      const ready = await h.submit(oneTask().cleanup());
      expect(await cancelJob(h.service.engine, ready.jobId)).toBe("Cancelled");
      expect(await cancelJob(h.service.engine, ready.jobId)).toBe("Cancelled");
      // Running with a cleanup task: CleanupReady, cleanup enqueued, then Cancelled.
      const running = await h.submitAndStart(oneTask().cleanup());
      expect(await cancelJob(h.service.engine, running.jobId)).toBe("CleanupReady");
      expect(await cancelJob(h.service.engine, running.jobId)).toBe("CleanupReady");
      expect(await h.drain("cleanup")).toEqual([CLEANUP_TASK]);
      expect(await kindOf(h.register(running.jobId, 0))).toBe("failed_precondition");
      const cleanup = await h.register(running.jobId, CLEANUP_TASK);
      expect(cleanup.serializedTaskIo).toHaveLength(0);
      expect(await h.succeed(running.jobId, CLEANUP_TASK, cleanup.taskInstanceId, out("ignored"))).toBe("Cancelled");
      expect(await cancelJob(h.service.engine, running.jobId)).toBe("Cancelled");
      // CommitReady without a cleanup task: Cancelled.
      const commitReady = await h.submitAndStart(oneTask().commit());
      const t = await h.register(commitReady.jobId, 0);
      expect(await h.succeed(commitReady.jobId, 0, t.taskInstanceId, [out("v")])).toBe("CommitReady");
      expect(await cancelJob(h.service.engine, commitReady.jobId)).toBe("Cancelled");
      expect(await h.drain("commit")).toEqual([]); // the commit entry went stale
      // Succeeded: stays Succeeded.
      const done = await h.submitAndStart(oneTask());
      const i = await h.register(done.jobId, 0);
      expect(await h.succeed(done.jobId, 0, i.taskInstanceId, [out("v")])).toBe("Succeeded");
      expect(await cancelJob(h.service.engine, done.jobId)).toBe("Succeeded");
      await h.close();
    });

    it("answers GetJobOutputs and GetJobError only in Succeeded / Failed", async () => {
      const h = await Harness.create(fixture.store);
      const { jobId } = await h.submit(oneTask());
      expect(await kindOf(getJobOutputs(h.service.engine, jobId))).toBe("failed_precondition");
      expect(await kindOf(getJobError(h.service.engine, jobId))).toBe("failed_precondition");
      await startJob(h.service.engine, jobId);
      const i = await h.register(jobId, 0);
      expect(await h.succeed(jobId, 0, i.taskInstanceId, [out("result")])).toBe("Succeeded");
      const outputs = decodeTaskOutputs(await getJobOutputs(h.service.engine, jobId), { maxOutputBytes: 1 << 20 });
      expect(outputs.map((o) => new TextDecoder().decode(o))).toEqual(["result"]);
      expect(await kindOf(getJobError(h.service.engine, jobId))).toBe("failed_precondition");
      const failing = await h.submitAndStart(oneTask());
      const f = await h.register(failing.jobId, 0);
      expect(await h.fail(failing.jobId, 0, f.taskInstanceId, "it broke")).toBe("Failed");
      expect(await getJobError(h.service.engine, failing.jobId)).toBe("it broke");
      expect(await kindOf(getJobOutputs(h.service.engine, failing.jobId))).toBe("failed_precondition");
      await h.close();
    });

    it("fences the three task-instance calls by session", async () => {
      const h = await Harness.create(fixture.store);
      const { jobId } = await h.submitAndStart(oneTask());
      const i = await h.register(jobId, 0);
      const stale = h.sessionId - 1n;
      const base = { sessionId: stale, jobId, taskId: taskIndex(0), executionManagerId: h.executionManagerId };
      const calls = [
        () => registerTaskInstance(h.service.engine, base),
        () => reportTaskSuccess(h.service.engine, { ...base, taskInstanceId: i.taskInstanceId, serializedOutputs: out("garbage") }),
        () => reportTaskFailure(h.service.engine, { ...base, taskInstanceId: i.taskInstanceId, errorMessage: "x" }),
      ];
      for (const call of calls) {
        const error = await call().catch((e: unknown) => e);
        expect(isStorageError(error, "stale_session")).toBe(true);
        expect((error as Error).message).toBe(`stale session; current storage session is ${h.sessionId}`);
      }
      expect(await getJobState(h.service.engine, jobId)).toBe("Running");
      await h.close();
    });

    it("turns every spec §8 fatal registration path into failed_precondition", async () => {
      const h = await Harness.create(fixture.store);
      const notStarted = await h.submit(oneTask().commit().cleanup());
      expect(await kindOf(h.register(notStarted.jobId, 0))).toBe("failed_precondition"); // job not started
      expect(await kindOf(h.register(notStarted.jobId, COMMIT_TASK))).toBe("failed_precondition");
      expect(await kindOf(h.register(notStarted.jobId, CLEANUP_TASK))).toBe("failed_precondition");
      const chain = await h.submitAndStart(TaskGraphBuilder.chain(2, BYTES));
      expect(await kindOf(h.register(chain.jobId, 5))).toBe("failed_precondition"); // index out of range
      expect(await kindOf(h.register(chain.jobId, 1))).toBe("failed_precondition"); // Pending
      expect(await kindOf(h.register(chain.jobId, COMMIT_TASK))).toBe("failed_precondition"); // no commit task
      expect(await kindOf(h.register(chain.jobId, 0, 424_242n))).toBe("failed_precondition"); // unknown EM
      expect(await kindOf(h.register(123_456_789n, 0))).toBe("failed_precondition"); // job not cached
      expect(await kindOf(h.succeed(chain.jobId, 0, 999_999n, [out("x")]))).toBe("failed_precondition"); // unknown instance
      expect(await kindOf(h.fail(chain.jobId, 0, 999_999n))).toBe("failed_precondition");
      await h.close();
    });

    it("treats undecodable outputs or a wrong count as a failed instance (invalid_argument)", async () => {
      const h = await Harness.create(fixture.store);
      const builder = new TaskGraphBuilder().task({ inputs: [BYTES], outputs: [BYTES, BYTES], policy: { maxNumRetry: 1 } });
      const { jobId } = await h.submitAndStart(builder);
      await h.drain();
      const a = await h.register(jobId, 0);
      const error = await h.succeed(jobId, 0, a.taskInstanceId, new Uint8Array([1, 2])).catch((e: unknown) => e);
      expect(isStorageError(error, "invalid_argument")).toBe(true);
      expect((error as Error).message).toContain("deserialization error");
      expect(await getJobState(h.service.engine, jobId)).toBe("Running");
      expect(await h.drain()).toEqual([taskIndex(0)]); // re-enqueued, a retry consumed
      expect(jobTasks(h.service.engine, jobId)[0]).toMatchObject({ state: "Ready", retriesLeft: 0, liveInstances: 0 });
      const b = await h.register(jobId, 0);
      expect(await kindOf(h.succeed(jobId, 0, b.taskInstanceId, [out("only one")]))).toBe("invalid_argument");
      expect(await getJobState(h.service.engine, jobId)).toBe("Failed");
      expect(await getJobError(h.service.engine, jobId)).toContain("declares 2 output(s), got 1");
      await h.close();
    });

    it("a frame declaring 16 777 215 outputs for a one-output task is refused from its header: invalid_argument, the attempt fails, no view built", async () => {
      const requeues: string[] = [];
      const h = await Harness.create(fixture.store, { hooks: { onTaskRequeued: (_jobId, key, cause) => requeues.push(`${key}:${cause}`) } });
      const builder = new TaskGraphBuilder().task({ inputs: [BYTES], outputs: [BYTES], policy: { maxNumRetry: 1 } });
      const { jobId } = await h.submitAndStart(builder);
      await h.drain();
      const instance = await h.register(jobId, 0);
      // A well-formed frame: 16 777 215 empty outputs (64 MiB). Decoding it whole would build one view per output.
      const frame = new Uint8Array(4 + 16_777_215 * 4);
      new DataView(frame.buffer).setUint32(0, 16_777_215, true);
      let views = 0;
      const subarray = frame.subarray.bind(frame);
      frame.subarray = (begin?: number, end?: number) => {
        // Bounded, so a decoder that walks the frame fails here instead of building 16 M views.
        if (++views > 1_000) throw new Error("the decoder walked the frame's outputs");
        return subarray(begin, end);
      };
      const error = await h.succeed(jobId, 0, instance.taskInstanceId, frame).catch((e: unknown) => e);
      expect(isStorageError(error, "invalid_argument")).toBe(true);
      expect((error as Error).message).toContain("declares 1 output(s), got 16777215");
      expect((error as Error).message.length).toBeLessThan(200);
      expect(views).toBe(0);
      // The attempt counts as failed: a retry consumed, the task queued again.
      expect(requeues).toEqual(["0:retry"]);
      expect(await getJobState(h.service.engine, jobId)).toBe("Running");
      expect(jobTasks(h.service.engine, jobId)[0]).toMatchObject({ state: "Ready", retriesLeft: 0, liveInstances: 0 });
      expect(await h.drain()).toEqual([taskIndex(0)]);
      await h.close();
    });

    it("polls each lane with the session id, and only after the first refill", async () => {
      const h = new Harness(fixture.store, { ready: false });
      expect(await kindOf(pollReadyTasks(h.service.engine, "task", { maxItems: 1, waitMs: 0 }))).toBe("unavailable");
      expect(refillQueue(h.service.engine)).toBe(0);
      const result = await pollReadyTasks(h.service.engine, "task", { maxItems: 1, waitMs: 0 });
      expect(result).toEqual({ sessionId: h.sessionId, tasks: [] });
      await h.close();
    });

    it("returns one entry per lane with resource group and job ids", async () => {
      const h = await Harness.create(fixture.store);
      const { jobId } = await h.submitAndStart(oneTask().commit());
      const polled = await pollReadyTasks(h.service.engine, "task", { maxItems: 10, waitMs: 100 });
      expect(polled.tasks).toEqual([{ resourceGroupId: h.resourceGroupId, jobId, taskId: taskIndex(0) }]);
      const i = await h.register(jobId, 0);
      await h.succeed(jobId, 0, i.taskInstanceId, [out("v")]);
      const commit = await pollReadyTasks(h.service.engine, "commit", { maxItems: 10, waitMs: 100 });
      expect(commit.tasks).toEqual([{ resourceGroupId: h.resourceGroupId, jobId, taskId: COMMIT_TASK }]);
      const c = await h.register(jobId, COMMIT_TASK);
      expect(decodeTaskOutputs(c.serializedTaskIo, { maxOutputBytes: 1 << 20 }).map((o) => new TextDecoder().decode(o))).toEqual(["v"]);
      const cleanupJob = await h.submitAndStart(oneTask().cleanup());
      await h.drain();
      await cancelJob(h.service.engine, cleanupJob.jobId);
      const cleanup = await pollReadyTasks(h.service.engine, "cleanup", { maxItems: 10, waitMs: 100 });
      expect(cleanup.tasks).toEqual([{ resourceGroupId: h.resourceGroupId, jobId: cleanupJob.jobId, taskId: CLEANUP_TASK }]);
      expect((await pollReadyTasks(h.service.engine, "task", { maxItems: 10, waitMs: 0 })).tasks).toEqual([]);
      await h.close();
    });

    it("gives a vanished poller's tasks back, first in line", async () => {
      // Linger and wait as long as the test may run: only the abort can end this poll, however slow the machine.
      const h = await Harness.create(fixture.store, { config: { queue: { lingerMs: 60_000 } } });
      const controller = new AbortController();
      const poll = pollReadyTasks(h.service.engine, "task", { maxItems: 10, waitMs: 60_000, signal: controller.signal });
      await sleep(5);
      const { jobId } = await h.submitAndStart(TaskGraphBuilder.independent(3, BYTES));
      await sleep(10);
      expect(h.service.engine.queue.depth("task")).toBe(0); // the poll holds the three tasks
      controller.abort();
      expect((await poll).tasks).toEqual([]);
      expect(await h.drain()).toEqual([taskIndex(0), taskIndex(1), taskIndex(2)]);
      // And through returnUndeliveredTasks, for an answer that could not be sent.
      returnUndeliveredTasks(h.service.engine, [{ resourceGroupId: h.resourceGroupId, jobId, taskId: taskIndex(1) }]);
      expect(await h.drain()).toEqual([taskIndex(1)]);
      await h.close();
    });

    it("manages resource groups", async () => {
      const h = await Harness.create(fixture.store);
      const id = await addResourceGroup(h.service.engine, `group-${h.sessionId}`, out("secret"));
      expect(await kindOf(verifyResourceGroup(h.service.engine, id, out("secret")))).toBe("ok");
      expect(await kindOf(verifyResourceGroup(h.service.engine, id, out("wrong")))).toBe("unauthenticated");
      expect(await kindOf(verifyResourceGroup(h.service.engine, id + 1000n, out("secret")))).toBe("unauthenticated");
      expect(await kindOf(addResourceGroup(h.service.engine, `group-${h.sessionId}`, out("x")))).toBe("already_exists");
      await h.close();
    });

    it("registers execution managers and records heartbeats", async () => {
      const h = await Harness.create(fixture.store);
      const registration = await registerExecutionManager(h.service.engine, "::FFFF:1.2.3.4");
      expect(registration.sessionId).toBe(h.sessionId);
      expect(await heartbeatExecutionManager(h.service.engine, registration.executionManagerId)).toBe(h.sessionId);
      const bad = await registerExecutionManager(h.service.engine, "not-an-ip").catch((e: unknown) => e);
      expect(isStorageError(bad, "invalid_argument")).toBe(true);
      expect((bad as Error).message).toContain("invalid IP address");
      expect(await kindOf(heartbeatExecutionManager(h.service.engine, 777_777n))).toBe("illegal_execution_manager");
      await h.close();
    });

    it("resends ready work only when a scheduler replaces another", async () => {
      const h = await Harness.create(fixture.store);
      await h.submitAndStart(oneTask());
      expect(await h.drain()).toHaveLength(1); // taken by a scheduler that will never dispatch it
      const first = await registerScheduler(h.service.engine, "scheduler-a", 7000);
      expect(first.sessionId).toBe(h.sessionId);
      expect(await h.drain()).toHaveLength(0);
      const second = await registerScheduler(h.service.engine, "scheduler-b", 7001);
      expect(second.schedulerId).not.toBe(first.schedulerId);
      expect(await h.drain()).toHaveLength(1);
      expect(await getSchedulers(h.service.engine)).toEqual([{ schedulerId: second.schedulerId, host: "scheduler-b", port: 7001 }]);
      expect(await kindOf(registerScheduler(h.service.engine, "", 1))).toBe("invalid_argument");
      expect(await kindOf(registerScheduler(h.service.engine, "h", 70_000))).toBe("invalid_argument");
      expect(h.service.engine.sessionId).toBe(h.sessionId);
      await h.close();
    });

    it("hands out instance ids from 1, one counter for all jobs", async () => {
      const service = new StorageService({ store: fixture.store, sessionId: 5n, logger: silentLogger() });
      refillQueue(service.engine);
      const rg = await addResourceGroup(service.engine, `ids-${Date.now()}-${Math.random()}`, out("p"));
      const em = (await registerExecutionManager(service.engine, "127.0.0.1")).executionManagerId;
      const ids: bigint[] = [];
      for (let n = 0; n < 2; n++) {
        const jobId = await registerJob(service.engine, {
          resourceGroupId: rg,
          compressedTaskGraph: oneTask().toCompressed(),
          compressedInputs: compressJobInputs([out("x")]),
        });
        await startJob(service.engine, jobId);
        const context = await registerTaskInstance(service.engine, { sessionId: 5n, jobId, taskId: taskIndex(0), executionManagerId: em });
        ids.push(context.taskInstanceId);
        expect(context.tdlContext).toEqual({ package: "test_pkg", taskFunc: "task_0" });
        expect(context.timeoutPolicy).toEqual({ softTimeoutMs: 150_000, hardTimeoutMs: 300_000 });
      }
      expect(ids).toEqual([1n, 2n]);
      await service.stop();
    });

    it("stop() ends pending polls with empty answers and stops the timers", async () => {
      const h = await Harness.create(fixture.store);
      let answer: unknown;
      // A wait longer than the test may run: only stop() can answer this poll.
      void pollReadyTasks(h.service.engine, "task", { maxItems: 10, waitMs: 60_000 }).then((r) => (answer = r.tasks));
      await sleep(10);
      expect(answer).toBeUndefined();
      await h.close();
      await new Promise((resolve) => setImmediate(resolve)); // the answer's microtasks have run
      expect(answer).toEqual([]);
    });

    it("calls the checkpoint hook for each succeeded regular task, children released at once", async () => {
      const seen: string[] = [];
      const h = await Harness.create(fixture.store, {
        hooks: { onTaskSucceeded: (jobId, index, frame) => seen.push(`${jobId}/${index}/${frame.length}`) },
      });
      const { jobId } = await h.submitAndStart(TaskGraphBuilder.chain(2, BYTES));
      const a = await h.register(jobId, 0);
      await h.succeed(jobId, 0, a.taskInstanceId, [out("abc")]);
      expect(seen).toEqual([`${jobId}/0/11`]);
      expect(await h.drain()).toEqual([taskIndex(1)]);
      await h.close();
    });
  });
}
