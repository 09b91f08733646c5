/**
 * The server process's test-only fault hook, SPIDER_STORAGE_FAULTS: the real
 * `serve` with every kind of database fault at a set rate still runs a stream
 * of jobs to the oracle's outputs; a malformed value is a usage error (exit 2).
 */
import { afterAll, describe, expect, it, onTestFailed } from "vitest";
import { createDb } from "../../src/db/connection.ts";
import { ServerProcess } from "../helpers/server-process.ts";
import { SimulatedCluster } from "../helpers/sim/cluster.ts";
import { testDatabase } from "../helpers/test-database.ts";
import { LogWatcher } from "../outage/outage-helpers.ts";
import { JobWorkload } from "./job-workload.ts";

const seed = Number(process.env["SPIDER_TEST_SEED"] ?? Math.floor(Math.random() * 1_000_000));

describe("SPIDER_STORAGE_FAULTS (server process)", () => {
  const servers: ServerProcess[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((server) => server.kill()));
  });

  it("runs every job to the oracle's outputs with faults of every kind at 8%", async () => {
    console.log(`server-env-faults: seed ${seed} (SPIDER_TEST_SEED=${seed} repeats it)`);
    const url = await testDatabase("env_faults");
    const plan = { seed, rate: 0.08, kind: ["deadlock", "lock_wait_timeout", "lost_before_commit", "lost_during_commit", "unreachable"], exclude: ["registerExecutionManager", "registerScheduler", "addResourceGroup"] };
    const server = await ServerProcess.start({ databaseUrl: url, env: { SPIDER_STORAGE_FAULTS: JSON.stringify(plan) } });
    servers.push(server);
    const logs = new LogWatcher(server);
    await server.waitServing();
    let workload: JobWorkload | undefined;
    const cluster = await new SimulatedCluster(server.address, { executionManagers: 3, concurrency: 4, behaviour: (c) => workload!.behaviour(c) }).start();
    workload = new JobWorkload(cluster.clients, seed);
    onTestFailed(() => console.log(`failed with seed ${seed}: ${workload?.summary()}\n${server.logs.slice(-5_000)}`));
    const db = createDb({ url, maxConnections: 2 });
    try {
      await workload.createResourceGroup();
      await Promise.all(Array.from({ length: 3 }, () => workload.submit(10)));
      await workload.verify(cluster.log, { timeoutMs: 60_000, db });
    } finally {
      await db.destroy();
      await cluster.stop();
    }
    console.log(`${workload.summary()}; ${logs.count("fault injected")} faults injected`);
    expect(logs.count("database fault injection is ON (SPIDER_STORAGE_FAULTS): for tests only")).toBe(1);
    expect(logs.count("fault injected")).toBeGreaterThan(0);
    expect((await server.stop()).code).toBe(0);
  });

  it("refuses a malformed plan with exit code 2", async () => {
    const server = await ServerProcess.start({ databaseUrl: "mysql://root@127.0.0.1:1/none", env: { SPIDER_STORAGE_FAULTS: '{"rate":7}' } });
    servers.push(server);
    const exit = await server.exited;
    expect(exit.code).toBe(2);
    expect(server.logs).toContain("SPIDER_STORAGE_FAULTS");
  });
});
