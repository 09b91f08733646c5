/**
 * Write fencing on a running server (DECISIONS D3, issue 19): once another
 * writer's session has begun (its takeover advanced the leader fence), the
 * deposed server's writes are refused by the database — none lands — and the
 * server steps down to standby by itself, instead of serving from a cache the
 * database no longer agrees with. Here the takeover is what a new server's
 * start runs (take the lease row, then allocateFencedSession), done by the
 * test while the first server works and before its lease could have expired:
 * the fence, not the lease's timing, is what stops its writes.
 */
import { sql } from "kysely";
import { afterAll, describe, expect, it } from "vitest";
import { createConnection, type Connection } from "mysql2/promise";
import { createDb, poolOptionsFromUrl } from "../../src/db/connection.ts";
import { takeHolderLock } from "../../src/db/lease/holderLock.ts";
import { readLease } from "../../src/db/lease/readLease.ts";
import { singleConnectionDb } from "../../src/db/single-connection-db.ts";
import { allocateFencedSession } from "../../src/db/sessions/allocateFencedSession.ts";
import { ServerProcess } from "../../testkit/server-process.ts";
import { SimulatedCluster } from "../../testkit/sim/cluster.ts";
import { testDatabase } from "../../testkit/test-database.ts";
import { waitFor } from "../../testkit/wait-for.ts";
import { JobWorkload } from "../faults/job-workload.ts";

const DEPOSED = "deposed: another spider-storage leads now; stepping down to standby";

interface JobRowState {
  readonly id: string;
  readonly state: string;
  readonly outputs: number;
  readonly checkpoints: number;
}

describe("a deposed server's writes", () => {
  const servers: ServerProcess[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((server) => server.kill()));
  });

  it("are refused once a newer session took the fence, and the server steps down to standby by itself", async () => {
    const url = await testDatabase("fenced_server");
    const db = createDb({ url, maxConnections: 2 });
    // No lease renewal within the test (the first is 60 s after start): the renewal would also see the new
    // epoch and step down, and when it looked before the next write did, no write met the fence (seen in CI).
    const server = await ServerProcess.start({
      databaseUrl: url,
      env: { SPIDER_STORAGE_RUNTIME__LEASE__TTL_MS: "600000", SPIDER_STORAGE_RUNTIME__LEASE__RENEW_INTERVAL_MS: "60000" },
    });
    servers.push(server);
    const session = await server.waitServing();
    let newLeader: Connection | undefined;
    let workload: JobWorkload | undefined;
    const cluster = await new SimulatedCluster(server.address, { executionManagers: 2, concurrency: 4, behaviour: (c) => workload!.behaviour(c) }).start();
    workload = new JobWorkload(cluster.clients, 1919, { maxTaskDelayMs: 30 });
    const snapshot = async (): Promise<JobRowState[]> => {
      const rows = await sql<JobRowState>`
        SELECT CAST(j.id AS CHAR) AS id, j.state, COALESCE(LENGTH(j.serialized_job_outputs), 0) AS outputs,
               (SELECT COUNT(*) FROM task_checkpoints c WHERE c.job_id = j.id) AS checkpoints
        FROM jobs j ORDER BY j.id`.execute(db);
      return rows.rows.map((row) => ({ ...row, outputs: Number(row.outputs), checkpoints: Number(row.checkpoints) }));
    };
    try {
      await workload.createResourceGroup();
      await workload.submit(12);
      // The server can write: some jobs move before the takeover (the thing that must stop afterwards can happen).
      await waitFor("a job to finish before the takeover", async () => (await snapshot()).some((job) => job.state === "Succeeded"), { timeoutMs: 30_000 });

      // The new leader holds the lease for an hour: the deposed server waits as a standby, writing nothing.
      // Its lease connection stays open, holding the lease's liveness lock, as a live server's does.
      newLeader = await createConnection(poolOptionsFromUrl(url));
      const newLeaderDb = singleConnectionDb(newLeader);
      await sql`UPDATE leader_lease SET epoch = epoch + 1, holder = 'the test', expires_at = NOW(6) + INTERVAL 1 HOUR WHERE id = 1`.execute(newLeaderDb);
      await takeHolderLock(newLeaderDb, poolOptionsFromUrl(url).database!, (await readLease(newLeaderDb))!.epoch);
      const takeover = await allocateFencedSession(db);
      expect(takeover).toBeGreaterThan(session);
      const atTakeover = await snapshot();
      expect(atTakeover.some((job) => job.state === "Running" || job.state === "Ready")).toBe(true);

      await waitFor("the server to step down", () => server.logs.includes(DEPOSED), { timeoutMs: 30_000 });
      await waitFor("the server to wait as a standby", () => server.logs.includes("standby: another spider-storage holds the database lease"), { timeoutMs: 30_000 });
      expect(server.running).toBe(true);
      expect(server.logs).toContain("is no longer current: another spider-storage has taken over");
      // Nothing the deposed server did after the takeover landed: every row as it was.
      expect(await snapshot()).toEqual(atTakeover);
    } finally {
      newLeader?.destroy();
      await cluster.stop();
      await db.destroy();
    }
  });
});
