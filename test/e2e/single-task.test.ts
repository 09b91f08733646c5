import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ServerProcess } from "../../testkit/server-process.ts";
import { testDatabase } from "../../testkit/test-database.ts";
import { addResourceGroup, jobOutputs, oracleOutputs, SimulatedCluster, submitJob, waitForJobs } from "../../testkit/sim/cluster.ts";
import { diamond, singleTask } from "../../testkit/sim/job-shapes.ts";

describe("a job through the real server", () => {
  let server: ServerProcess;
  let cluster: SimulatedCluster;

  beforeAll(async () => {
    server = await ServerProcess.start({ databaseUrl: await testDatabase("e2e") });
    await server.waitServing();
    cluster = await new SimulatedCluster(server.address, { executionManagers: 2 }).start();
  });
  afterAll(async () => {
    await cluster?.stop();
    await server?.stop();
  });

  it("runs a single task to Succeeded with the oracle's outputs", async () => {
    const rg = await addResourceGroup(cluster.clients);
    const job = singleTask();
    const jobId = await submitJob(cluster.clients, rg, job);
    const states = await waitForJobs(cluster.clients, [jobId], 20_000);
    expect(states.get(jobId), server.logs.slice(-3000)).toBe("Succeeded");
    expect(await jobOutputs(cluster.clients, jobId)).toEqual(oracleOutputs(job));
  });

  it("runs a diamond with a commit task", async () => {
    const rg = await addResourceGroup(cluster.clients);
    const job = diamond({ commit: true });
    const jobId = await submitJob(cluster.clients, rg, job);
    const states = await waitForJobs(cluster.clients, [jobId], 20_000);
    expect(states.get(jobId)).toBe("Succeeded");
    expect(await jobOutputs(cluster.clients, jobId)).toEqual(oracleOutputs(job));
    expect(cluster.log.starts.get(`${jobId}/commit`)).toBe(1);
  });
});
