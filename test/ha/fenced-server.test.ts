/**
 * Write fencing on a running server (DECISIONS D3, issue 19): once another
 * writer's session has begun (its takeover advanced the leader fence), the
 * deposed server's writes are refused by the database — none lands — and the
 * server stops by itself (exit 1, "superseded"), instead of serving from a
 * cache the database no longer agrees with. Here the takeover is what a new
 * server's start runs (allocateFencedSession), done by the test while the
 * first server works: the situation of two servers on two Galera nodes, whose
 * node-local GET_LOCK leases both succeed, on one database.
 */
import { sql } from "kysely";
import { afterAll, describe, expect, it } from "vitest";
import { createDb } from "../../src/db/connection.ts";
import { allocateFencedSession } from "../../src/db/sessions/allocateFencedSession.ts";
import { ServerProcess } from "../../testkit/server-process.ts";
import { SimulatedCluster } from "../../testkit/sim/cluster.ts";
import { testDatabase } from "../../testkit/test-database.ts";
import { waitFor } from "../../testkit/wait-for.ts";
import { JobWorkload } from "../faults/job-workload.ts";

const SUPERSEDED = "this server must not resume: it was superseded";

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

  it("are refused once a newer session took the fence, and the server stops by itself", async () => {
    const url = await testDatabase("fenced_server");
    const db = createDb({ url, maxConnections: 2 });
    const server = await ServerProcess.start({ databaseUrl: url });
    servers.push(server);
    const session = await server.waitServing();
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

      const takeover = await allocateFencedSession(db);
      expect(takeover).toBeGreaterThan(session);
      const atTakeover = await snapshot();
      expect(atTakeover.some((job) => job.state === "Running" || job.state === "Ready")).toBe(true);

      const exit = await server.exited;
      expect(exit.code, server.logs.slice(-3_000)).toBe(1);
      expect(server.logs).toContain(SUPERSEDED);
      expect(server.logs).toContain("is no longer current: another spider-storage has taken over");
      // Nothing the deposed server did after the takeover landed: every row as it was.
      expect(await snapshot()).toEqual(atTakeover);
    } finally {
      await cluster.stop();
      await db.destroy();
    }
  });
});
