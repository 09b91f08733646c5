/**
 * Multi-host database URLs on real servers (issue 19 point 3): two private
 * mariadbd that share nothing stand in for two nodes — enough to see where
 * connections go; data consistency across nodes is the Galera harness's
 * business (testkit/galera.ts).
 *
 * - a first host that is a dead port: the pool and the lease connect to the second;
 * - a node with read_only = ON is skipped, and one that turns read_only while in
 *   use is left (a lease taken after that goes to the new node);
 * - no node answers: the error is the driver's "not connected" one (D6 applies);
 * - the current node SIGKILLed under a running server: it resumes on the next
 *   node with the same session and serves jobs there.
 */
import { sql } from "kysely";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "../../src/db/connection.ts";
import { DatabaseNodes, NODE_MOVED_MESSAGE, type NodeMove } from "../../src/db/database-nodes.ts";
import { classifyDbError } from "../../src/db/db-errors.ts";
import { acquireLease } from "../../src/db/lease.ts";
import { ensureLeaseTable } from "../../src/db/lease/ensureLeaseTable.ts";
import { readLease, type LeaseRow } from "../../src/db/lease/readLease.ts";
import { migrateToLatest } from "../../src/db/migrate.ts";
import { freePort } from "../../testkit/free-port.ts";
import { startMariaDb, type PrivateMariaDb } from "../../testkit/mariadb.ts";
import { ServerProcess } from "../../testkit/server-process.ts";
import { SimulatedCluster } from "../../testkit/sim/cluster.ts";
import { waitFor } from "../../testkit/wait-for.ts";
import { JobWorkload } from "../faults/job-workload.ts";

const logger = pino({ level: "silent" });

const hostList = (...ports: number[]) => `mysql://root@${ports.map((port) => `127.0.0.1:${port}`).join(",")}/spider`;

async function portOf(db: Db): Promise<number> {
  const { rows } = await sql<{ port: number }>`SELECT @@port AS port`.execute(db);
  return Number(rows[0]!.port);
}

/** The lease as the server at `url` stores it (these two servers share nothing). */
async function leaseOn(url: string): Promise<LeaseRow | undefined> {
  const db = createDb({ url, maxConnections: 1 });
  try {
    return await readLease(db);
  } finally {
    await db.destroy();
  }
}

async function setReadOnly(url: string, on: boolean): Promise<void> {
  const db = createDb({ url, maxConnections: 1 });
  try {
    await sql.raw(`SET GLOBAL read_only = ${on ? "ON" : "OFF"}`).execute(db);
  } finally {
    await db.destroy();
  }
}

describe("a multi-host database URL", () => {
  let a: PrivateMariaDb;
  let b: PrivateMariaDb;
  let urlA: string;
  let urlB: string;
  const servers: ServerProcess[] = [];

  beforeAll(async () => {
    [a, b] = await Promise.all([startMariaDb(), startMariaDb()]);
    [urlA, urlB] = await Promise.all([a.createDatabase("spider"), b.createDatabase("spider")]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all(servers.map((server) => server.kill()));
    await Promise.all([a?.destroy(), b?.destroy()]);
  });

  it("connects the pool and the lease to the second host when the first is a dead port", async () => {
    const dead = await freePort();
    const moves: NodeMove[] = [];
    const url = hostList(dead, a.port);
    const nodes = new DatabaseNodes(url, { logger, onMove: (move) => moves.push(move) });
    const db = createDb({ url, nodes, maxConnections: 2 });
    try {
      expect(await portOf(db)).toBe(a.port);
      expect(moves).toMatchObject([{ from: { port: dead }, to: { port: a.port }, reason: "unreachable" }]);
      expect(nodes.current.port).toBe(a.port);
    } finally {
      await db.destroy();
    }
    // The lease, with a choice of its own (offline commands).
    const lease = await acquireLease(url, { logger, holder: "dead-port test" });
    try {
      expect((await leaseOn(urlA))?.holder).toBe("dead-port test");
    } finally {
      await lease.release();
    }
  });

  it("skips a node with read_only = ON", async () => {
    await setReadOnly(urlA, true);
    const url = hostList(a.port, b.port);
    const moves: NodeMove[] = [];
    const db = createDb({ url, nodes: new DatabaseNodes(url, { logger, onMove: (move) => moves.push(move) }), maxConnections: 2 });
    try {
      expect(await portOf(db)).toBe(b.port);
      expect(moves).toMatchObject([{ from: { port: a.port }, to: { port: b.port }, reason: "unusable" }]);
    } finally {
      await db.destroy();
      await setReadOnly(urlA, false);
    }
  });

  it("leaves the current node when it turns read_only while in use; a lease taken then goes to the new node", async () => {
    const url = hostList(a.port, b.port);
    const moves: NodeMove[] = [];
    const nodes = new DatabaseNodes(url, { logger, onMove: (move) => moves.push(move), checkIntervalMs: 100 });
    const db = createDb({ url, nodes, maxConnections: 2 });
    try {
      expect(await portOf(db)).toBe(a.port);
      await setReadOnly(urlA, true);
      await waitFor("the pool to move to the second node", async () => (await portOf(db)) === b.port, { timeoutMs: 10_000 });
      expect(moves).toMatchObject([{ from: { port: a.port }, to: { port: b.port }, reason: "unusable" }]);
      // Taken through the same choice, it is on the new node.
      const lease = await acquireLease(url, { logger, nodes, holder: "after the move" });
      try {
        expect((await leaseOn(urlB))?.holder).toBe("after the move");
      } finally {
        await lease.release();
      }
    } finally {
      await db.destroy();
      await setReadOnly(urlA, false);
    }
  });

  it("fails as the driver does while no node answers (an outage, D6), and connects once one does", async () => {
    const [dead1, dead2] = [await freePort(), await freePort()];
    const url = hostList(dead1, dead2);
    const db = createDb({ url, maxConnections: 1 });
    try {
      const error = await sql`SELECT 1`.execute(db).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(classifyDbError(error)).toBe("not_connected");
    } finally {
      await db.destroy();
    }
    const partly = createDb({ url: hostList(dead1, b.port), maxConnections: 1 });
    try {
      expect(await portOf(partly)).toBe(b.port);
    } finally {
      await partly.destroy();
    }
  });

  it("keeps a server serving on the next node when its node is SIGKILLed", async () => {
    const metricsPort = await freePort();
    const server = await ServerProcess.start({
      databaseUrl: hostList(a.port, b.port),
      env: { SPIDER_STORAGE_RUNTIME__METRICS__ENABLED: "true", SPIDER_STORAGE_RUNTIME__METRICS__PORT: String(metricsPort) },
    });
    servers.push(server);
    const session = await server.waitServing();
    // b stands in for a replica of a: the same schema, sessions, leader lease and leader fence (D3).
    const lease = await leaseOn(urlA);
    expect(lease?.held).toBe(true);
    const replica = createDb({ url: urlB, maxConnections: 1 });
    try {
      await migrateToLatest(replica);
      await sql`INSERT INTO sessions (session_id) VALUES (${session})`.execute(replica);
      await sql`UPDATE leader_fence SET epoch = ${session}`.execute(replica);
      await ensureLeaseTable(replica);
      await sql`UPDATE leader_lease SET epoch = ${lease!.epoch.toString()}, holder = ${lease!.holder}, expires_at = NOW(6) + INTERVAL 1 MINUTE WHERE id = 1`.execute(replica);

      await a.kill();
      await waitFor(() => `the server to move to the next node:\n${server.logs.slice(-3_000)}`, () => server.logs.includes(NODE_MOVED_MESSAGE), { timeoutMs: 30_000 });
      const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      expect(metrics).toContain('spider_storage_db_node_moves_total{reason="unreachable"} 1');

      let workload: JobWorkload | undefined;
      const cluster = await new SimulatedCluster(server.address, { executionManagers: 2, concurrency: 4, behaviour: (c) => workload!.behaviour(c) }).start();
      workload = new JobWorkload(cluster.clients, 1919, { maxTaskDelayMs: 5 });
      try {
        await workload.createResourceGroup();
        await workload.submit(10);
        await workload.verify(cluster.log, { timeoutMs: 30_000 });
        expect((await cluster.clients.sessions.getSession({})).sessionId).toBe(session);
      } finally {
        await cluster.stop();
      }
      // The jobs are on b.
      const { rows } = await sql<{ n: number }>`SELECT COUNT(*) AS n FROM jobs`.execute(replica);
      expect(Number(rows[0]!.n)).toBe(workload.jobs.length);
    } finally {
      await replica.destroy();
    }
    expect((await server.stop()).code).toBe(0);
  });
});
