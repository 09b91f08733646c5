/**
 * Losing the single-writer lease while serving (DECISIONS D3, issue 10), with
 * the database itself up (its lease connection is killed from outside):
 *
 * - nobody else took over: the server retakes the lease and goes on with the
 *   same session and its cache; jobs in flight still finish right;
 * - a standby took the lease meanwhile: the server must not resume — it exits
 *   1, saying why, and the standby serves a newer session;
 * - the lease is free again but a newer session was started meanwhile
 *   (another server ran and went): the server exits 1 as well;
 * - retakeLease itself: our own stale connection is killed, another server's
 *   lease is never taken.
 */
import { sql } from "kysely";
import { afterAll, describe, expect, it } from "vitest";
import { pino } from "pino";
import { createDb } from "../../src/db/connection.ts";
import { acquireLease, LeaseHeldError, retakeLease } from "../../src/db/lease.ts";
import { ServerProcess } from "../../testkit/server-process.ts";
import { SimulatedCluster } from "../../testkit/sim/cluster.ts";
import { testDatabase } from "../../testkit/test-database.ts";
import { JobWorkload } from "../faults/job-workload.ts";
import { killConnection, leaseHolder, LogWatcher, tableFacts } from "./outage-helpers.ts";
import { waitFor } from "../../testkit/wait-for.ts";

const RESUMED = "database lease retaken: serving again with the same session";
const SUPERSEDED = "this server must not resume: it was superseded";

describe("lease lost while serving", () => {
  const servers: ServerProcess[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((server) => server.kill()));
  });

  async function serve(databaseUrl: string): Promise<{ server: ServerProcess; logs: LogWatcher }> {
    const server = await ServerProcess.start({ databaseUrl });
    servers.push(server);
    return { server, logs: new LogWatcher(server) };
  }

  it("retakes the lease and resumes with the same session when nobody else took it", async () => {
    const url = await testDatabase("lease_loss");
    const { server, logs } = await serve(url);
    const session = await server.waitServing();
    let workload: JobWorkload | undefined;
    const cluster = await new SimulatedCluster(server.address, { executionManagers: 2, concurrency: 4, behaviour: (c) => workload!.behaviour(c) }).start();
    workload = new JobWorkload(cluster.clients, 4242, { maxTaskDelayMs: 20 });
    try {
      await workload.createResourceGroup();
      await workload.submit(10);
      for (let i = 1; i <= 2; i++) {
        const holder = await leaseHolder(url);
        expect(holder).toBeDefined();
        await killConnection(url, holder!);
        await waitFor("the server to resume", () => logs.count(RESUMED) === i, { timeoutMs: 15_000 });
        expect(await leaseHolder(url)).not.toBe(holder);
        await workload.submit(10);
      }
      await workload.verify(cluster.log, { timeoutMs: 30_000 });
      expect(server.running).toBe(true);
      expect((await cluster.clients.sessions.getSession({})).sessionId).toBe(session);
      expect((await tableFacts(url)).latestSession).toBe(session);
    } finally {
      await cluster.stop();
    }
    expect((await server.stop()).code).toBe(0);
  });

  it("exits 1 when a standby took the lease meanwhile; the standby serves a newer session", async () => {
    const url = await testDatabase("lease_loss");
    const first = await serve(url);
    const session = await first.server.waitServing();
    const standby = await serve(url);
    await waitFor("the second server to wait as a standby", () => standby.server.logs.includes("standby: another spider-storage holds the database lease"));
    await killConnection(url, (await leaseHolder(url))!);
    const exit = await first.server.exited;
    expect(exit.code, first.server.logs.slice(-3_000)).toBe(1);
    expect(first.logs.count(SUPERSEDED)).toBe(1);
    expect(String((first.logs.entries(SUPERSEDED)[0]?.["err"] as { message?: string } | undefined)?.message)).toMatch(/another spider-storage took over/);
    expect(await standby.server.waitServing()).toBeGreaterThan(session);
    expect((await standby.server.stop()).code).toBe(0);
  });

  it("exits 1 when it gets the lease back but a newer session was started meanwhile", async () => {
    const url = await testDatabase("lease_loss");
    const { server, logs } = await serve(url);
    const session = await server.waitServing();
    // Another server ran while ours was cut off: it started a session (and went away).
    const db = createDb({ url, maxConnections: 1 });
    try {
      await sql`INSERT INTO sessions () VALUES ()`.execute(db);
    } finally {
      await db.destroy();
    }
    await killConnection(url, (await leaseHolder(url))!);
    const exit = await server.exited;
    expect(exit.code, server.logs.slice(-3_000)).toBe(1);
    const message = String((logs.entries(SUPERSEDED)[0]?.["err"] as { message?: string } | undefined)?.message);
    expect(message).toContain(`newest session ${session + 1n}, ours ${session}`);
    expect(logs.count(RESUMED)).toBe(0);
  });
});

describe("retakeLease", () => {
  const logger = pino({ level: "silent" });

  it("kills our own lost connection that MariaDB still shows holding the lock, and takes the lease", async () => {
    const url = await testDatabase("lease_retake");
    // The server gave this lease up for lost (say a check timed out) while MariaDB still has it.
    const stale = await acquireLease(url, { logger });
    const lease = await retakeLease(url, { logger, previous: stale });
    try {
      expect(lease.connectionId).not.toBe(stale.connectionId);
      expect(await leaseHolder(url)).toBe(lease.connectionId);
      expect(await lease.db.selectNoFrom((eb) => eb.lit(42).as("n")).executeTakeFirst()).toEqual({ n: 42 });
    } finally {
      await lease.release();
      await stale.release();
    }
  });

  it("refuses a lease another server holds, and gives up waiting when aborted", async () => {
    const url = await testDatabase("lease_retake");
    const other = await acquireLease(url, { logger });
    try {
      await expect(retakeLease(url, { logger })).rejects.toBeInstanceOf(LeaseHeldError);
    } finally {
      await other.release();
    }
    const controller = new AbortController();
    const unreachable = retakeLease("mysql://root@127.0.0.1:1/nowhere", { logger, signal: controller.signal });
    setTimeout(() => controller.abort(new Error("stopping")), 300);
    await expect(unreachable).rejects.toThrow("stopping");
  });
});
