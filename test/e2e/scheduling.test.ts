/**
 * Dispatch across schedulers and execution managers through the real server: a
 * replacing scheduler gets the work its predecessor took and never dispatched;
 * a soft timeout lets a second instance run (max_num_instances 2); a dead
 * execution manager's task runs elsewhere without consuming a retry.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ServerProcess } from "../../testkit/server-process.ts";
import { addResourceGroup, jobOutputs, oracleOutputs, SimulatedCluster, submitJob, waitForJobs } from "../../testkit/sim/cluster.ts";
import { flat, singleTask } from "../../testkit/sim/job-shapes.ts";
import { SimulatedScheduler } from "../../testkit/sim/simulated-scheduler.ts";
import { connectStorage } from "../../testkit/sim/storage-clients.ts";
import { testDatabase } from "../../testkit/test-database.ts";
import { waitFor } from "../../testkit/wait-for.ts";

describe("scheduling through the real server", () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await ServerProcess.start({
      databaseUrl: await testDatabase("sched"),
      // Short enough for the dead-manager case, yet 25 heartbeat periods: a busy test process cannot kill a live manager.
      env: { SPIDER_STORAGE_RUNTIME__TASK_INSTANCE_POOL__EXECUTION_MANAGER_STALE_CUTOFF_SEC: "5" },
    });
    await server.waitServing();
  });
  afterAll(async () => server?.stop());

  it("a replacing scheduler receives the ready work the previous one consumed", async () => {
    const first = new SimulatedScheduler(server.address);
    await first.start();
    const rg = await addResourceGroup(first.clients);
    const job = flat(20, { seed: 21 });
    const jobId = await submitJob(first.clients, rg, job);
    await waitFor("the first scheduler to poll all 20 entries", () => first.polled >= 20, { timeoutMs: 10_000, intervalMs: 10 });
    expect(first.polled).toBe(20);
    await first.stop(); // it took all 20 entries and will never dispatch them

    const cluster = await new SimulatedCluster(server.address, { executionManagers: 2 }).start();
    try {
      expect((await waitForJobs(cluster.clients, [jobId], 20_000)).get(jobId)).toBe("Succeeded");
      expect(await jobOutputs(cluster.clients, jobId)).toEqual(oracleOutputs(job));
      const schedulers = await cluster.clients.schedulers.getSchedulers({});
      expect(schedulers.schedulers?.schedulers.map((s) => s.schedulerId)).toEqual([cluster.scheduler.schedulerId]);
    } finally {
      await cluster.stop();
    }
  });

  it("a soft timeout re-enqueues the task and a second instance finishes it (max_num_instances 2)", async () => {
    let firstRun = true;
    const cluster = await new SimulatedCluster(server.address, {
      executionManagers: 2,
      concurrency: 2,
      // The first instance never reports (its manager stays alive); only the speculative second one can finish the task.
      behaviour: () => {
        const hung = firstRun;
        firstRun = false;
        return hung ? { kind: "vanish" } : { kind: "succeed" };
      },
    }).start();
    try {
      const rg = await addResourceGroup(cluster.clients);
      const job = singleTask({ seed: 22, policy: { maxNumInstances: 2, softTimeoutMs: 300, hardTimeoutMs: 60_000 } });
      const jobId = await submitJob(cluster.clients, rg, job);
      expect((await waitForJobs(cluster.clients, [jobId], 30_000)).get(jobId)).toBe("Succeeded");
      expect(cluster.log.starts.get(`${jobId}/0`)).toBe(2);
      expect(cluster.log.successesReported.get(`${jobId}/0`)).toBe(1);
      expect(await jobOutputs(cluster.clients, jobId)).toEqual(oracleOutputs(job));
    } finally {
      await cluster.stop();
    }
  });

  it("a dead execution manager's task runs on another one without consuming a retry", async () => {
    const cluster = new SimulatedCluster(server.address, { executionManagers: 0 });
    await cluster.start();
    try {
      // This EM takes the task and then goes silent (no report, no heartbeat).
      const doomed = await cluster.addExecutionManager(() => ({ kind: "vanish" }));
      const rg = await addResourceGroup(cluster.clients);
      const job = singleTask({ seed: 23 }); // no retries: a consumed retry would fail the job
      const jobId = await submitJob(cluster.clients, rg, job);
      await waitFor("the doomed execution manager to start the task", () => cluster.log.starts.has(`${jobId}/0`), { timeoutMs: 10_000, intervalMs: 10 });
      await doomed.stop();
      await cluster.addExecutionManager(() => ({ kind: "succeed" }));
      expect((await waitForJobs(cluster.clients, [jobId], 30_000)).get(jobId)).toBe("Succeeded");
      expect(cluster.log.starts.get(`${jobId}/0`)).toBe(2);
      expect(await jobOutputs(cluster.clients, jobId)).toEqual(oracleOutputs(job));
    } finally {
      await cluster.stop();
    }
  });
});

describe("tasks a poller took and never dispatched (runtime.queue.reoffer_unclaimed_after_ms)", () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await ServerProcess.start({
      databaseUrl: await testDatabase("reoffer"),
      env: { SPIDER_STORAGE_RUNTIME__QUEUE__REOFFER_UNCLAIMED_AFTER_MS: "500" },
    });
    await server.waitServing();
  });
  afterAll(async () => server?.stop());

  it("are offered again, so a job whose tasks a vanished poller holds still finishes", async () => {
    // A client that polls without ever registering as a scheduler, then walks away. The cluster's
    // scheduler registers afterwards as the first of this server's life, which triggers no refill:
    // only the re-offer can bring the tasks back.
    const rogue = connectStorage(server.address);
    const rg = await addResourceGroup(rogue);
    const job = flat(5, { seed: 31 });
    const taken = rogue.queue.pollReadyTasks({ maxItems: 5n, waitMs: 30_000n });
    const jobId = await submitJob(rogue, rg, job);
    expect((await taken).tasks!.tasks.map((task) => task.jobId)).toEqual([jobId, jobId, jobId, jobId, jobId]);
    rogue.close();

    const cluster = await new SimulatedCluster(server.address, { executionManagers: 2 }).start();
    try {
      expect((await waitForJobs(cluster.clients, [jobId], 20_000)).get(jobId)).toBe("Succeeded");
      expect(await jobOutputs(cluster.clients, jobId)).toEqual(oracleOutputs(job));
      expect(server.logs).toContain("unclaimed_poll");
    } finally {
      await cluster.stop();
    }
  });
});
