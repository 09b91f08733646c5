/**
 * Issue 6's end-to-end list, through the real server process on a real
 * MariaDB, driven by simulated execution managers and a scheduler over gRPC.
 */
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startE2e, type E2eEnvironment } from "../../testkit/e2e-server.ts";
import { addResourceGroup, jobOutputs, oracleOutputs, submitJob, waitForJobs } from "../../testkit/sim/cluster.ts";
import { diamond, layered, singleTask, wide } from "../../testkit/sim/job-shapes.ts";
import type { Behaviour } from "../../testkit/sim/simulated-execution-manager.ts";
import { seededRandom } from "../../src/core/seeded-random.ts";

// Fails the first `failures` runs of every task whose key is listed; succeeds otherwise.
function failFirst(failures: number, keys: Set<string>): Behaviour {
  return (context) => (keys.has(context.key) && context.attempt < failures ? { kind: "fail", message: `injected failure ${context.attempt + 1}` } : { kind: "succeed" });
}

describe("jobs end to end (8 execution managers)", () => {
  let env: E2eEnvironment;
  const failing = new Set<string>();
  beforeAll(async () => {
    env = await startE2e({ cluster: { executionManagers: 8, concurrency: 4, behaviour: failFirst(2, failing) } });
  });
  afterAll(async () => env?.stop());

  it("runs a wide DAG and a layered DAG to the oracle's outputs", async () => {
    const rg = await addResourceGroup(env.cluster.clients);
    const jobs = [wide(200, { seed: 1 }), layered(5, 40, 5, seededRandom(7), { seed: 2, commit: true })];
    const ids = await Promise.all(jobs.map((job) => submitJob(env.cluster.clients, rg, job)));
    const states = await waitForJobs(env.cluster.clients, ids, 60_000);
    for (const [i, id] of ids.entries()) {
      expect(states.get(id)).toBe("Succeeded");
      expect(await jobOutputs(env.cluster.clients, id)).toEqual(oracleOutputs(jobs[i]!));
    }
    expect(env.cluster.log.protocolErrors).toEqual([]);
  });

  it("retries a failing task and still produces the oracle's outputs", async () => {
    const rg = await addResourceGroup(env.cluster.clients);
    const job = diamond({ policy: { maxNumRetry: 2 }, seed: 3 });
    const jobId = await submitJob(env.cluster.clients, rg, job);
    // Task 1 fails twice (its retries), then succeeds.
    failing.add(`${jobId}/1`);
    const states = await waitForJobs(env.cluster.clients, [jobId], 30_000);
    expect(states.get(jobId)).toBe("Succeeded");
    expect(await jobOutputs(env.cluster.clients, jobId)).toEqual(oracleOutputs(job));
  });

  it("fails the job when retries are exhausted, with the last error from GetJobError", async () => {
    const rg = await addResourceGroup(env.cluster.clients);
    const job = singleTask({ policy: { maxNumRetry: 1 }, seed: 4 });
    const registered = await env.cluster.clients.jobs.registerJob({
      resourceGroupId: rg,
      compressedSerializedTaskGraph: job.builder.toCompressed(),
      compressedSerializedInputs: (await import("../../testkit/sim/cluster.ts")).compressInputs(job.inputs),
    });
    failing.add(`${registered.jobId}/0`); // fails twice; only one retry allowed
    await env.cluster.clients.jobs.startJob({ jobId: registered.jobId });
    const states = await waitForJobs(env.cluster.clients, [registered.jobId], 30_000);
    expect(states.get(registered.jobId)).toBe("Failed");
    const error = await env.cluster.clients.jobs.getJobError({ jobId: registered.jobId });
    expect(error.errorMessage).toContain("injected failure 2");
    await expect(env.cluster.clients.jobs.getJobOutputs({ jobId: registered.jobId })).rejects.toMatchObject({ code: grpc.status.FAILED_PRECONDITION });
    expect(env.cluster.log.starts.get(`${registered.jobId}/0`)).toBe(2);
  });
});
