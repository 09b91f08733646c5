/**
 * The server process's test-only fault hook, SPIDER_STORAGE_FAULTS: the real
 * `serve` with every kind of database fault at a set rate still runs a stream
 * of jobs to the oracle's outputs; a malformed value is a usage error (exit 2).
 * The hook is honoured only with SPIDER_STORAGE_ENABLE_TEST_FAULTS=1, which
 * tests set: a production `serve` ignores the plan and logs that it did.
 */
import * as grpc from "@grpc/grpc-js";
import { afterAll, describe, expect, it, onTestFailed } from "vitest";
import { createDb } from "../../src/db/connection.ts";
import { ServerProcess } from "../../testkit/server-process.ts";
import { SimulatedCluster } from "../../testkit/sim/cluster.ts";
import { connectStorage, statusCode } from "../../testkit/sim/storage-clients.ts";
import { testDatabase } from "../../testkit/test-database.ts";
import { LogWatcher } from "../outage/outage-helpers.ts";
import { JobWorkload } from "./job-workload.ts";

const seed = Number(process.env["SPIDER_TEST_SEED"] ?? Math.floor(Math.random() * 1_000_000));
const ENABLE = { SPIDER_STORAGE_ENABLE_TEST_FAULTS: "1" };


describe("SPIDER_STORAGE_FAULTS (server process)", () => {
  const servers: ServerProcess[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((server) => server.kill()));
  });

  it("runs every job to the oracle's outputs with faults of every kind at 8%", async () => {
    console.log(`server-env-faults: seed ${seed} (SPIDER_TEST_SEED=${seed} repeats it)`);
    const url = await testDatabase("env_faults");
    const plan = { seed, rate: 0.08, kind: ["deadlock", "lock_wait_timeout", "lost_before_commit", "lost_during_commit", "unreachable"], exclude: ["registerExecutionManager", "registerScheduler", "addResourceGroup"] };
    const server = await ServerProcess.start({ databaseUrl: url, env: { ...ENABLE, SPIDER_STORAGE_FAULTS: JSON.stringify(plan) } });
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
    const server = await ServerProcess.start({ databaseUrl: "mysql://root@127.0.0.1:1/none", env: { ...ENABLE, SPIDER_STORAGE_FAULTS: '{"rate":7}' } });
    servers.push(server);
    const exit = await server.exited;
    expect(exit.code).toBe(2);
    expect(server.logs).toContain("SPIDER_STORAGE_FAULTS");
  });

  it("a serve without SPIDER_STORAGE_ENABLE_TEST_FAULTS=1 ignores the plan, logs that it did, and writes", async () => {
    const url = await testDatabase("env_faults_off");
    // Honoured, this plan makes every attempt to register an execution manager find the database unreachable.
    const plan = JSON.stringify({ seed, rate: 1, kind: "unreachable", persistent: true, operations: ["registerExecutionManager"] });
    const register = async (server: ServerProcess) => {
      await server.waitServing();
      const clients = connectStorage(server.address);
      try {
        return await clients.liveness.registerExecutionManager({ ipAddress: "127.0.0.1" });
      } finally {
        clients.close();
      }
    };
    const enabled = await ServerProcess.start({ databaseUrl: url, env: { ...ENABLE, SPIDER_STORAGE_FAULTS: plan } });
    servers.push(enabled);
    expect(statusCode(await register(enabled).catch((error: unknown) => error))).toBe(grpc.status.UNAVAILABLE);
    expect(enabled.logs).toContain("fault injected");
    await enabled.kill();

    const production = await ServerProcess.start({ databaseUrl: url, env: { SPIDER_STORAGE_FAULTS: plan, SPIDER_STORAGE_ENABLE_TEST_FAULTS: "" } });
    servers.push(production);
    expect((await register(production)).registration?.executionManagerId).toBeGreaterThan(0n);
    expect(production.logs).toContain(
      "SPIDER_STORAGE_FAULTS is set but ignored: database fault injection is for tests only (they set SPIDER_STORAGE_ENABLE_TEST_FAULTS=1)",
    );
    expect(production.logs).not.toContain("fault injected");
    expect(production.logs).not.toContain("database fault injection is ON");
    expect((await production.stop()).code).toBe(0);
  });
});
