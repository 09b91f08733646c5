/**
 * The leader lease failing while serving (DECISIONS D3), with the database
 * itself up:
 *
 * - renewals cannot get through (the lease row is locked from outside, as a
 *   stuck node would hold it): after ttl − margin the server suspends — health
 *   NOT_SERVING, writes fenced — and when a renewal succeeds with its own
 *   epoch it resumes with the same session and its cache; jobs in flight still
 *   finish right;
 * - the server is frozen past the TTL (SIGSTOP) and a standby takes over:
 *   thawed, the old leader suspends, finds another epoch, and steps down to
 *   standby by itself (it does not exit); none of its writes lands; the
 *   standby serves a newer session and every job finishes right.
 */
import { createConnection } from "mysql2/promise";
import { afterAll, describe, expect, it } from "vitest";
import { poolOptionsFromUrl } from "../../src/db/connection.ts";
import { ServerProcess } from "../../testkit/server-process.ts";
import { SimulatedCluster } from "../../testkit/sim/cluster.ts";
import { testDatabase } from "../../testkit/test-database.ts";
import { waitFor } from "../../testkit/wait-for.ts";
import { JobWorkload } from "../faults/job-workload.ts";
import { HealthClientWrapper } from "../../testkit/health-client.ts";
import { FAST_LEASE_ENV as LEASE_ENV, freezeProcess, LogWatcher, storedLease, tableFacts } from "./outage-helpers.ts";

const SUSPENDED = "database lease suspended: writes are fenced off and RPCs that need the database answer UNAVAILABLE until it is renewed";
const RESUMED = "database lease renewed: serving again with the same session";
const DEPOSED = "deposed: another spider-storage leads now; stepping down to standby";


async function health(address: string): Promise<string | number> {
  const client = new HealthClientWrapper(address);
  try {
    return await client.check("");
  } finally {
    client.client.close();
  }
}

describe("leader lease failing while serving", () => {
  const servers: ServerProcess[] = [];
  afterAll(async () => {
    for (const server of servers) if (server.running && server.child.pid) process.kill(server.child.pid, "SIGCONT");
    await Promise.all(servers.map((server) => server.kill()));
  });

  async function serve(databaseUrl: string, holder: string): Promise<{ server: ServerProcess; logs: LogWatcher }> {
    const server = await ServerProcess.start({ databaseUrl, env: { ...LEASE_ENV, SPIDER_STORAGE_RUNTIME__LEASE__HOLDER_NAME: holder } });
    servers.push(server);
    return { server, logs: new LogWatcher(server) };
  }

  it("suspends serving while renewals cannot get through, and resumes with the same session when one does", async () => {
    const url = await testDatabase("lease_loss");
    const { server, logs } = await serve(url, "leader");
    const session = await server.waitServing();
    let workload: JobWorkload | undefined;
    const cluster = await new SimulatedCluster(server.address, { executionManagers: 2, concurrency: 4, behaviour: (c) => workload!.behaviour(c) }).start();
    workload = new JobWorkload(cluster.clients, 4242, { maxTaskDelayMs: 20 });
    const blocker = await createConnection(poolOptionsFromUrl(url));
    try {
      await workload.createResourceGroup();
      await workload.submit(10);
      expect(await health(server.address)).toBe("SERVING");
      for (let i = 1; i <= 2; i++) {
        // The row lock blocks every renewal until the transaction ends.
        await blocker.query("SET SESSION innodb_lock_wait_timeout = 60");
        await blocker.beginTransaction();
        await blocker.query("SELECT * FROM leader_lease WHERE id = 1 FOR UPDATE");
        await waitFor("the server to suspend", () => logs.count(SUSPENDED) === i, { timeoutMs: 15_000 });
        expect(await health(server.address)).toBe("NOT_SERVING");
        await blocker.rollback();
        await waitFor("the server to resume", () => logs.count(RESUMED) === i, { timeoutMs: 15_000 });
        expect(await health(server.address)).toBe("SERVING");
        await workload.submit(10);
      }
      await workload.verify(cluster.log, { timeoutMs: 30_000 });
      expect(server.running).toBe(true);
      expect(logs.count(DEPOSED)).toBe(0);
      expect((await cluster.clients.sessions.getSession({})).sessionId).toBe(session);
      expect((await tableFacts(url)).latestSession).toBe(session);
    } finally {
      await blocker.end();
      await cluster.stop();
    }
    expect((await server.stop()).code).toBe(0);
  });

  it("steps a leader frozen past the TTL down to standby when it thaws, while the standby serves a newer session", async () => {
    const url = await testDatabase("lease_loss");
    const first = await serve(url, "first");
    const session = await first.server.waitServing();
    const standby = await serve(url, "standby");
    await waitFor("the second server to wait as a standby", () => standby.server.logs.includes("standby: another spider-storage holds the database lease"));

    const thaw = await freezeProcess(first.server.child.pid!);
    let thawed = false;
    try {
      const next = await standby.server.waitServing(30_000);
      expect(next).toBeGreaterThan(session);
      expect((await storedLease(url))?.holder).toBe("standby");
    } finally {
      thaw();
      thawed = true;
    }
    expect(thawed).toBe(true);
    await waitFor("the old leader to step down", () => first.logs.count(DEPOSED) === 1, { timeoutMs: 20_000 });
    expect(first.server.running).toBe(true);
    expect(await health(first.server.address)).toBe("NOT_SERVING");
    // It waits as a standby for the new leader's lease; it never resumed its old session.
    expect(first.logs.count(RESUMED)).toBe(0);
    await waitFor("the old leader to wait as a standby", () => first.server.logs.split("standby: another spider-storage holds the database lease").length - 1 >= 1);
    expect(await health(standby.server.address)).toBe("SERVING");
    expect((await standby.server.stop()).code).toBe(0);
    // The lease is handed over at once: the old leader leads again, with a newer session still.
    expect(await first.server.waitServing(30_000)).toBeGreaterThan(session + 1n);
    expect((await first.server.stop()).code).toBe(0);
  });
});
