/**
 * A server restart longer than the dead-execution-manager cut-off (issue 16
 * D, DECISIONS D6): heartbeats refused while no server was serving were never
 * recorded, so the restarted server must give every manager a full cut-off
 * before its sweep may declare anyone dead. Spider's execution managers exit
 * when told they are dead.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, describe, expect, it } from "vitest";
import { ServerProcess } from "../../testkit/server-process.ts";
import { SimulatedCluster } from "../../testkit/sim/cluster.ts";
import { testDatabase } from "../../testkit/test-database.ts";
import { tableFacts } from "./outage-helpers.ts";
import { waitFor } from "../../testkit/wait-for.ts";

/** Five heartbeat periods (1 s): a busy test process must not make a live manager look silent. */
const CUTOFF_SEC = 5;
const SERVER_ENV = {
  SPIDER_STORAGE_RUNTIME__TASK_INSTANCE_POOL__EXECUTION_MANAGER_STALE_CUTOFF_SEC: String(CUTOFF_SEC),
  SPIDER_STORAGE_RUNTIME__TASK_INSTANCE_POOL__GC_INTERVAL_MS: "200",
};

describe("server restart longer than the dead-manager cut-off", () => {
  const servers: ServerProcess[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((server) => server.kill()));
  });

  it("declares no execution manager dead whose heartbeats were refused while the server was down", async () => {
    const url = await testDatabase("restart_grace");
    const first = await ServerProcess.start({ databaseUrl: url, env: SERVER_ENV });
    servers.push(first);
    await first.waitServing();
    // Heartbeats a second apart: after the restart most managers' next one lands well after the first sweep.
    const cluster = await new SimulatedCluster(first.address, { executionManagers: 8, heartbeatMs: 1_000 }).start();
    try {
      expect((await first.stop()).code).toBe(0);
      await sleep(CUTOFF_SEC * 1_000 + 1_000); // down longer than the cut-off
      const second = await ServerProcess.start({ databaseUrl: url, env: SERVER_ENV, port: first.port });
      servers.push(second);
      await second.waitServing();
      // A manager silent from now on is declared dead by the first sweep after the start-up grace: every sweep
      // that could wrongly declare the others dead has run by then (a positive event, not a fixed sleep).
      await cluster.executionManagers[0]!.stop();
      const dead = await waitFor("the silent manager to be declared dead", async () => (await tableFacts(url)).deadExecutionManagers || undefined, {
        timeoutMs: 20_000,
      });
      expect(dead).toBe(1);
      expect(cluster.executionManagers.slice(1).filter((em) => em.dead)).toEqual([]);
      await cluster.stop();
      expect((await second.stop()).code).toBe(0);
    } finally {
      await cluster.stop();
    }
  });
});
