/** CancelJob in every job state, with and without a cleanup task, through the real server. */
import { setTimeout as sleep } from "node:timers/promises";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JobState } from "../../src/gen/storage/storage_pb.ts";
import { jobStateFromProto } from "../../testkit/job-state-from-proto.ts";
import { startE2e, type E2eEnvironment } from "../../testkit/e2e-server.ts";
import { addResourceGroup, registerJob, submitJob, waitForJobs } from "../../testkit/sim/cluster.ts";
import { singleTask } from "../../testkit/sim/job-shapes.ts";
import type { Behaviour } from "../../testkit/sim/simulated-execution-manager.ts";
import { waitFor } from "../../testkit/wait-for.ts";

/** Tasks of jobs in `held` take 60 s (they stay Running); commit tasks of jobs in `heldCommit` and cleanup tasks of jobs in `heldCleanup` too. */
const held = new Set<bigint>();
const heldCommit = new Set<bigint>();
const heldCleanup = new Set<bigint>();
const behaviour: Behaviour = (context) => {
  const isCommit = context.key.endsWith("/commit");
  const isCleanup = context.key.endsWith("/cleanup");
  if (
    (isCommit && heldCommit.has(context.jobId)) ||
    (isCleanup && heldCleanup.has(context.jobId)) ||
    (!isCommit && !isCleanup && held.has(context.jobId))
  ) {
    return { kind: "succeed", delayMs: 60_000 };
  }
  return { kind: "succeed" };
};

async function waitForState(env: E2eEnvironment, jobId: bigint, state: JobState, timeoutMs = 20_000): Promise<void> {
  let current: JobState | undefined;
  await waitFor(
    () => `job ${jobId} to be ${jobStateFromProto(state)} (it is ${current === undefined ? "unknown" : jobStateFromProto(current)})`,
    async () => {
      current = (await env.cluster.clients.jobs.getJobState({ jobId })).state;
      return current === state;
    },
    { timeoutMs, intervalMs: 20 },
  );
}

describe("CancelJob in every state", () => {
  let env: E2eEnvironment;
  let rg: bigint;
  beforeAll(async () => {
    env = await startE2e({ cluster: { executionManagers: 4, concurrency: 4, behaviour } });
    rg = await addResourceGroup(env.cluster.clients);
  });
  afterAll(async () => env?.stop());

  for (const cleanup of [false, true]) {
    describe(cleanup ? "with a cleanup task" : "without a cleanup task", () => {
      it("Ready → Cancelled (nothing ran, so no cleanup)", async () => {
        const jobId = await registerJob(env.cluster.clients, rg, singleTask({ cleanup }));
        expect((await env.cluster.clients.jobs.cancelJob({ jobId })).state).toBe(JobState.CANCELLED);
        if (cleanup) {
          // A control cancelled after it while Running: its cleanup runs, from the same FIFO lane, after any this job could have had.
          const control = await registerJob(env.cluster.clients, rg, singleTask({ cleanup }));
          held.add(control);
          await env.cluster.clients.jobs.startJob({ jobId: control });
          expect((await env.cluster.clients.jobs.cancelJob({ jobId: control })).state).toBe(JobState.CLEANUP_READY);
          expect((await waitForJobs(env.cluster.clients, [control])).get(control)).toBe("Cancelled");
          expect(env.cluster.log.starts.get(`${control}/cleanup`)).toBe(1);
        }
        expect(env.cluster.log.starts.get(`${jobId}/cleanup`)).toBeUndefined();
        await expect(env.cluster.clients.jobs.startJob({ jobId })).rejects.toMatchObject({ code: grpc.status.FAILED_PRECONDITION });
      });

      it(`Running → ${cleanup ? "CleanupReady → cleanup runs → Cancelled" : "Cancelled"}`, async () => {
        const job = singleTask({ cleanup });
        const jobId = await registerJob(env.cluster.clients, rg, job);
        held.add(jobId);
        await env.cluster.clients.jobs.startJob({ jobId });
        await sleep(100);
        const state = (await env.cluster.clients.jobs.cancelJob({ jobId })).state;
        expect(state).toBe(cleanup ? JobState.CLEANUP_READY : JobState.CANCELLED);
        expect((await waitForJobs(env.cluster.clients, [jobId])).get(jobId)).toBe("Cancelled");
        expect(env.cluster.log.starts.get(`${jobId}/cleanup`)).toBe(cleanup ? 1 : undefined);
      });

      it(`CommitReady → ${cleanup ? "CleanupReady → Cancelled" : "Cancelled"}`, async () => {
        const job = singleTask({ cleanup, commit: true });
        const jobId = await registerJob(env.cluster.clients, rg, job);
        heldCommit.add(jobId);
        await env.cluster.clients.jobs.startJob({ jobId });
        await waitForState(env, jobId, JobState.COMMIT_READY);
        const state = (await env.cluster.clients.jobs.cancelJob({ jobId })).state;
        expect(state).toBe(cleanup ? JobState.CLEANUP_READY : JobState.CANCELLED);
        expect((await waitForJobs(env.cluster.clients, [jobId])).get(jobId)).toBe("Cancelled");
      });
    });
  }

  it("is idempotent on CleanupReady and terminal jobs, and NOT_FOUND for an unknown job", async () => {
    const done = await submitJob(env.cluster.clients, rg, singleTask());
    await waitForJobs(env.cluster.clients, [done]);
    expect((await env.cluster.clients.jobs.cancelJob({ jobId: done })).state).toBe(JobState.SUCCEEDED);

    // Its cleanup task is held too: the job stays CleanupReady for both calls (D5 names its current state).
    const cleaning = await registerJob(env.cluster.clients, rg, singleTask({ cleanup: true, cleanupPolicy: { maxNumRetry: 0 } }));
    held.add(cleaning);
    heldCleanup.add(cleaning);
    await env.cluster.clients.jobs.startJob({ jobId: cleaning });
    await sleep(100);
    const first = await env.cluster.clients.jobs.cancelJob({ jobId: cleaning });
    const second = await env.cluster.clients.jobs.cancelJob({ jobId: cleaning });
    expect(first.state).toBe(JobState.CLEANUP_READY);
    expect(second.state).toBe(JobState.CLEANUP_READY);

    const cancelled = await registerJob(env.cluster.clients, rg, singleTask());
    expect((await env.cluster.clients.jobs.cancelJob({ jobId: cancelled })).state).toBe(JobState.CANCELLED);
    expect((await env.cluster.clients.jobs.cancelJob({ jobId: cancelled })).state).toBe(JobState.CANCELLED);

    await expect(env.cluster.clients.jobs.cancelJob({ jobId: 987_654_321n })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  });
});
