/**
 * A black-holed database (issue 16 E): a frozen mariadbd (SIGSTOP) accepts
 * nothing and refuses nothing, unlike a killed one. On a private server this
 * file freezes and thaws (DECISIONS D13):
 *
 * - statements fail after the client-side statement timeout instead of
 *   hanging, and the pool is usable again once the server thaws (D8);
 * - a dead-execution-manager sweep that hung through the freeze declares
 *   nobody dead when the server answers again, although by the database's
 *   clock every manager is then stale (D6) — and a sweep after the freeze
 *   does reap a manager that stays silent, so the first one could have;
 * - a server whose database freezes for longer than the cut-off, with
 *   execution managers heartbeating throughout, declares none of them dead.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isStorageError } from "../../src/core/errors.ts";
import { createDb, type Db } from "../../src/db/connection.ts";
import { isExecutionManagerAlive } from "../../src/db/execution-managers/isExecutionManagerAlive.ts";
import { reapDeadExecutionManagers } from "../../src/db/execution-managers/reapDeadExecutionManagers.ts";
import { registerExecutionManager } from "../../src/db/execution-managers/registerExecutionManager.ts";
import { migrateToLatest } from "../../src/db/migrate.ts";
import { runStatement } from "../../src/db/run-statement.ts";
import { startMariaDb, type PrivateMariaDb } from "../../testkit/mariadb.ts";
import { ServerProcess } from "../../testkit/server-process.ts";
import { SimulatedCluster } from "../../testkit/sim/cluster.ts";
import { freezeProcess, tableFacts } from "./outage-helpers.ts";
import { waitFor } from "../../testkit/wait-for.ts";

describe("black-holed database", () => {
  let mariadb: PrivateMariaDb;
  let url: string;
  const dbs: Db[] = [];

  const freeze = (): Promise<() => void> => freezeProcess(mariadb.process.pid!);

  async function openDb(statementTimeoutMs: number): Promise<Db> {
    const db = createDb({ url, maxConnections: 4, statementTimeoutMs });
    dbs.push(db);
    await sql`SELECT 1`.execute(db); // a pooled connection is open before the freeze
    return db;
  }

  beforeAll(async () => {
    mariadb = await startMariaDb();
    url = await mariadb.createDatabase("black_hole");
    const db = createDb({ url, maxConnections: 1 });
    await migrateToLatest(db);
    await db.destroy();
  });
  afterAll(async () => {
    await Promise.all(dbs.map((db) => db.destroy()));
    await mariadb?.destroy();
  });

  it("fails a statement after the statement timeout instead of hanging, and works again after the thaw", async () => {
    const db = await openDb(300);
    const thaw = await freeze();
    let error: unknown;
    try {
      error = await runStatement(db, { operation: "probe", writes: false, maxAttempts: 1 }, (connection) => sql`SELECT 1`.execute(connection)).catch(
        (e: unknown) => e,
      );
    } finally {
      thaw();
    }
    expect(isStorageError(error, "unavailable"), String(error)).toBe(true);
    expect((error as Error).message).toContain("statement timed out after 300 ms");
    // The timed-out connection was dropped, not handed out again with a stale reply pending.
    const rows = await runStatement(db, { operation: "after", writes: false }, (connection) => sql<{ n: number }>`SELECT 42 AS n`.execute(connection));
    expect(rows.rows[0]?.n).toBe(42);
  });

  it("a sweep that hung through the freeze declares nobody dead when the database answers again", async () => {
    // A statement timeout longer than the freeze: the sweep's own guard must hold.
    const db = await openDb(60_000);
    const staleAfterMs = 1_000;
    const em = await registerExecutionManager(db, "10.6.0.1");
    const thaw = await freeze();
    let sweep: Promise<unknown>;
    try {
      sweep = reapDeadExecutionManagers(db, { staleAfterMs }).catch((e: unknown) => e);
      await sleep(staleAfterMs + 500); // heartbeats could not land meanwhile
    } finally {
      thaw();
    }
    const outcome = await sweep;
    expect(isStorageError(outcome, "unavailable"), String(outcome)).toBe(true);
    expect(await isExecutionManagerAlive(db, em)).toBe(true);
    // Still silent after the thaw, the manager is reaped by a sweep that did not live through an outage.
    expect(await reapDeadExecutionManagers(db, { staleAfterMs })).toContain(em);
  });

  it("a serving server declares no execution manager dead through a freeze longer than the cut-off", async () => {
    const serverUrl = await mariadb.createDatabase("black_hole_server");
    const server = await ServerProcess.start({
      databaseUrl: serverUrl,
      env: {
        // 25 heartbeat periods: a busy test process must not make a live manager look silent.
        SPIDER_STORAGE_RUNTIME__TASK_INSTANCE_POOL__EXECUTION_MANAGER_STALE_CUTOFF_SEC: "5",
        SPIDER_STORAGE_RUNTIME__TASK_INSTANCE_POOL__GC_INTERVAL_MS: "200",
      },
    });
    const cluster = await new SimulatedCluster(server.address, { executionManagers: 4, heartbeatMs: 200 }).start();
    try {
      await server.waitServing();
      await sleep(5_500); // past the start-up grace: the sweep runs
      const thaw = await freeze();
      try {
        await sleep(10_000); // twice the cut-off
      } finally {
        thaw();
      }
      // A manager silent from the thaw on is declared dead by the first sweep after the grace: every sweep that
      // could wrongly declare the others dead has run by then (a positive event, not a fixed sleep).
      await cluster.executionManagers[0]!.stop();
      const dead = await waitFor(
        "the silent manager to be declared dead",
        async () => (await tableFacts(serverUrl)).deadExecutionManagers || undefined,
        { timeoutMs: 20_000 },
      );
      expect(dead, server.logs.slice(-3_000)).toBe(1);
      expect(cluster.executionManagers.slice(1).filter((em) => em.dead)).toEqual([]);
      await cluster.stop();
      expect((await server.stop()).code).toBe(0);
    } finally {
      await cluster.stop();
      await server.kill();
    }
  });
});
