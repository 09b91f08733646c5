import { setTimeout as sleep } from "node:timers/promises";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StorageError, notFound } from "../../src/core/errors.ts";
import { createDb, type Db } from "../../src/db/connection.ts";
import { classifyDbError, isRetryable, toStorageError } from "../../src/db/db-errors.ts";
import { getJobState } from "../../src/db/jobs/getJobState.ts";
import { insertJob } from "../../src/db/jobs/insertJob.ts";
import { lockJobState } from "../../src/db/jobs/lockJobState.ts";
import { startJob } from "../../src/db/jobs/startJob.ts";
import { addRetryListener, type RetryListener } from "../../src/db/retry-policy.ts";
import { withTransaction } from "../../src/db/transaction.ts";
import { freePort } from "../../testkit/free-port.ts";
import { GRAPH, INPUTS, migratedDb, seedJob, seedResourceGroup } from "./db-fixture.ts";
import { expectStorageError } from "./expect-storage-error.ts";
import { FaultProxy } from "./fault-proxy.ts";

type RetryInfo = Parameters<RetryListener>[0];

describe("classifyDbError and isRetryable", () => {
  const err = (fields: Record<string, unknown>) => Object.assign(new Error(String(fields["message"] ?? "x")), fields);

  it("names server errnos and driver codes", () => {
    expect(classifyDbError(err({ errno: 1213, code: "ER_LOCK_DEADLOCK" }))).toBe("deadlock");
    expect(classifyDbError(err({ errno: 1205, code: "ER_LOCK_WAIT_TIMEOUT" }))).toBe("lock_wait_timeout");
    expect(classifyDbError(err({ errno: 1020, code: "ER_CHECKREAD" }))).toBe("record_changed");
    expect(classifyDbError(err({ errno: -111, code: "ECONNREFUSED" }))).toBe("not_connected");
    expect(classifyDbError(err({ code: "ETIMEDOUT", syscall: "connect" }))).toBe("not_connected");
    expect(classifyDbError(err({ code: "ETIMEDOUT" }))).toBe("connection_lost");
    expect(classifyDbError(err({ code: "PROTOCOL_CONNECTION_LOST", fatal: true }))).toBe("connection_lost");
    expect(classifyDbError(err({ errno: -104, code: "ECONNRESET" }))).toBe("connection_lost");
    expect(classifyDbError(err({ errno: 1927 }))).toBe("connection_lost");
    expect(classifyDbError(err({ message: "Can't add new command when connection is in closed state", fatal: true }))).toBe(
      "not_connected",
    );
    expect(classifyDbError(err({ errno: 1045, code: "ER_ACCESS_DENIED_ERROR" }))).toBe("access_denied");
    expect(classifyDbError(err({ errno: 1062 }))).toBe("duplicate_key");
    expect(classifyDbError(err({ errno: 1452 }))).toBe("foreign_key");
    expect(classifyDbError(err({ errno: 1406 }))).toBe("too_large");
    expect(classifyDbError(err({ errno: 1064 }))).toBe("other");
    expect(classifyDbError("not even an Error")).toBe("other");
  });

  it("retries only what certainly did not take effect (D8)", () => {
    for (const phase of ["connect", "transaction", "commit", "read", "write"] as const) {
      expect(isRetryable("deadlock", phase)).toBe(true);
      expect(isRetryable("lock_wait_timeout", phase)).toBe(true);
      expect(isRetryable("record_changed", phase)).toBe(true);
      expect(isRetryable("not_connected", phase)).toBe(true);
      expect(isRetryable("duplicate_key", phase)).toBe(false);
      expect(isRetryable("other", phase)).toBe(false);
    }
    expect(isRetryable("connection_lost", "connect")).toBe(true);
    expect(isRetryable("connection_lost", "transaction")).toBe(true);
    expect(isRetryable("connection_lost", "read")).toBe(true);
    expect(isRetryable("connection_lost", "commit")).toBe(false);
    expect(isRetryable("connection_lost", "write")).toBe(false);
  });

  it("maps to the D5 kinds", () => {
    const lost = err({ code: "PROTOCOL_CONNECTION_LOST" });
    expect(toStorageError(lost, { operation: "x", phase: "commit" }).kind).toBe("internal");
    expect(toStorageError(lost, { operation: "x", phase: "commit" }).message).toMatch(/outcome unknown/);
    expect(toStorageError(lost, { operation: "x", phase: "write" }).kind).toBe("internal");
    expect(toStorageError(lost, { operation: "x", phase: "read" }).kind).toBe("unavailable");
    expect(toStorageError(err({ code: "ECONNREFUSED" }), { operation: "x", phase: "connect" }).kind).toBe("unavailable");
    expect(toStorageError(err({ errno: 1213 }), { operation: "x", phase: "transaction" }).kind).toBe("unavailable");
    expect(toStorageError(err({ errno: 1064 }), { operation: "x", phase: "read" }).kind).toBe("internal");
    const passthrough = notFound("job not found");
    expect(toStorageError(passthrough, { operation: "x", phase: "read" })).toBe(passthrough);
  });
});

describe("withTransaction on a real MariaDB", () => {
  let db: Db;
  let url: string;
  let rg: bigint;
  beforeAll(async () => {
    ({ db, url } = await migratedDb("trx"));
    rg = await seedResourceGroup(db);
  });
  afterAll(async () => {
    await db?.destroy();
  });

  it("retries the deadlock victim, and both transactions commit", async () => {
    const a = await seedJob(db, rg, "Ready");
    const b = await seedJob(db, rg, "Ready");
    const retries: RetryInfo[] = [];
    let aLocked!: () => void;
    let bLocked!: () => void;
    const aHasFirst = new Promise<void>((resolve) => (aLocked = resolve));
    const bHasFirst = new Promise<void>((resolve) => (bLocked = resolve));
    let attemptsA = 0;
    let attemptsB = 0;
    // A locks a then b; B locks b then a: the second lock of one of them closes the cycle.
    const first = withTransaction(
      db,
      async (trx) => {
        attemptsA++;
        await lockJobState(trx, a);
        if (attemptsA === 1) {
          aLocked();
          await bHasFirst;
        }
        await lockJobState(trx, b);
        await trx.updateTable("jobs").set({ error_message: "a" }).where("id", "=", a).execute();
      },
      { onRetry: (info) => retries.push(info) },
    );
    const second = withTransaction(
      db,
      async (trx) => {
        attemptsB++;
        await lockJobState(trx, b);
        if (attemptsB === 1) {
          bLocked();
          await aHasFirst;
        }
        await lockJobState(trx, a);
        await trx.updateTable("jobs").set({ error_message: "b" }).where("id", "=", b).execute();
      },
      { onRetry: (info) => retries.push(info) },
    );
    await Promise.all([first, second]);
    expect(retries.map((r) => r.errorClass)).toEqual(["deadlock"]);
    expect(attemptsA + attemptsB).toBe(3);
    const rows = await db.selectFrom("jobs").select(["id", "error_message"]).where("id", "in", [a, b]).orderBy("id").execute();
    expect(rows.map((r) => r.error_message)).toEqual(["a", "b"]);
  });

  it("retries a lock-wait timeout (1205), and gives up as unavailable when out of attempts", async () => {
    const job = await seedJob(db, rg, "Ready");
    // One connection, so the session setting applies to every attempt.
    const impatient = createDb({ url, maxConnections: 1 });
    try {
      await sql`SET SESSION innodb_lock_wait_timeout = 1`.execute(impatient);
      const holder = await db.startTransaction().setIsolationLevel("read committed").execute();
      await lockJobState(holder, job);
      const retries: RetryInfo[] = [];
      const started = Date.now();
      // The lock is released when the first wait has timed out (not after a fixed time a loaded machine could outlast).
      let release: Promise<unknown> = Promise.resolve();
      const stopListening = addRetryListener((info) => {
        retries.push(info);
        if (retries.length === 1) release = holder.commit().execute();
      });
      try {
        expect(await startJob(impatient, job)).toEqual({ from: "Ready", to: "Running" });
      } finally {
        stopListening();
      }
      await release;
      expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
      expect(retries.map((r) => [r.operation, r.errorClass])).toEqual([[`transitionJob ${job} to Running`, "lock_wait_timeout"]]);
      retries.length = 0;

      const holder2 = await db.startTransaction().setIsolationLevel("read committed").execute();
      await lockJobState(holder2, job);
      try {
        await expectStorageError(
          withTransaction(impatient, (trx) => lockJobState(trx, job), { maxAttempts: 1, onRetry: (i) => retries.push(i) }),
          "unavailable",
          /database busy.*nothing was written.*ER_LOCK_WAIT_TIMEOUT \(1205\)/,
        );
      } finally {
        await holder2.rollback().execute();
      }
      expect(retries).toEqual([]);
    } finally {
      await impatient.destroy();
    }
  });

  it("runs at READ COMMITTED by default and at REPEATABLE READ when asked", async () => {
    const job = await seedJob(db, rg, "Ready");
    const readTwice = (isolation?: "read committed" | "repeatable read") =>
      withTransaction(
        db,
        async (trx) => {
          const before = await trx.selectFrom("jobs").select("error_message").where("id", "=", job).executeTakeFirstOrThrow();
          await db.updateTable("jobs").set({ error_message: `${isolation}` }).where("id", "=", job).execute();
          const after = await trx.selectFrom("jobs").select("error_message").where("id", "=", job).executeTakeFirstOrThrow();
          return [before.error_message, after.error_message];
        },
        isolation ? { isolation } : {},
      );
    const [b1, a1] = await readTwice();
    expect(a1).not.toBe(b1); // sees the concurrent commit
    const [b2, a2] = await readTwice("repeatable read");
    expect(a2).toBe(b2); // keeps its snapshot
  });

  it("rolls back and does not retry on a StorageError; joins an enclosing transaction", async () => {
    const job = await seedJob(db, rg, "Ready");
    let attempts = 0;
    await expect(
      withTransaction(db, async (trx) => {
        attempts++;
        await trx.updateTable("jobs").set({ error_message: "should vanish" }).where("id", "=", job).execute();
        throw notFound("nope");
      }),
    ).rejects.toBeInstanceOf(StorageError);
    expect(attempts).toBe(1);
    expect((await db.selectFrom("jobs").select("error_message").where("id", "=", job).executeTakeFirstOrThrow()).error_message).toBeNull();

    await withTransaction(db, async (outer) => {
      await outer.updateTable("jobs").set({ error_message: "outer" }).where("id", "=", job).execute();
      // startJob inside: joins `outer` (sees its write, shares its fate).
      await startJob(outer, job);
      const inner = await withTransaction(outer, (trx) =>
        trx.selectFrom("jobs").select(["state", "error_message"]).where("id", "=", job).executeTakeFirstOrThrow(),
      );
      expect(inner).toEqual({ state: "Running", error_message: "outer" });
    });
    expect(await getJobState(db, job)).toBe("Running");
  });

  it("an unreachable database is unavailable after the retries, for transactions, reads and writes", async () => {
    const nowhere = new URL(url);
    nowhere.hostname = "127.0.0.1";
    nowhere.port = String(await freePort());
    const dead = createDb({ url: nowhere.toString(), connectTimeoutMs: 500 });
    try {
      const retries: RetryInfo[] = [];
      await expectStorageError(
        withTransaction(dead, async () => 1, { maxAttempts: 3, onRetry: (i) => retries.push(i) }),
        "unavailable",
        /database unavailable.*ECONNREFUSED/,
      );
      expect(retries.map((r) => r.errorClass)).toEqual(["not_connected", "not_connected"]);
      await expectStorageError(getJobState(dead, 1n), "unavailable");
      // A write that never reached the server is not an unknown outcome.
      await expectStorageError(insertJob(dead, { resourceGroupId: rg, compressedTaskGraph: GRAPH, compressedInputs: INPUTS }), "unavailable");
    } finally {
      await dead.destroy();
    }
  });

  it("every pooled connection runs in UTC, so TIMESTAMPs read back as the right instants", async () => {
    const { rows } = await sql<{ zone: string; now: Date }>`SELECT @@session.time_zone AS zone, CURRENT_TIMESTAMP(3) AS now`.execute(db);
    expect(rows[0]!.zone).toBe("+00:00");
    // A time-zone mistake would be 30 min or more off (a loose bound, not a deadline).
    expect(Math.abs(rows[0]!.now.getTime() - Date.now())).toBeLessThan(10 * 60_000);
  });

  it("every pooled connection gives up a lock wait after 5 s, not the server's 50 s", async () => {
    const { rows } = await sql<{ timeout: bigint }>`SELECT @@session.innodb_lock_wait_timeout AS timeout`.execute(db);
    expect(Number(rows[0]!.timeout)).toBe(5);
  });

  it("a pooled connection killed by the server is replaced, for reads and writes", async () => {
    const single = createDb({ url, maxConnections: 1 });
    try {
      for (const operation of ["read", "write"] as const) {
        const { rows } = await sql<{ id: bigint }>`SELECT CONNECTION_ID() AS id`.execute(single);
        await sql`KILL CONNECTION ${sql.raw(String(rows[0]!.id))}`.execute(db);
        await sleep(50);
        if (operation === "read") expect(await getJobState(single, await seedJob(db, rg, "Ready"))).toBe("Ready");
        else expect(await insertJob(single, { resourceGroupId: rg, compressedTaskGraph: GRAPH, compressedInputs: INPUTS })).toBeGreaterThan(0n);
      }
    } finally {
      await single.destroy();
    }
  });

  describe("through a proxy that cuts the connection at a chosen command", () => {
    let proxy: FaultProxy;
    let proxied: Db;
    beforeAll(async () => {
      const target = new URL(url);
      proxy = await FaultProxy.start(target.hostname, Number(target.port || 3306));
      const via = new URL(url);
      via.hostname = "127.0.0.1";
      via.port = String(proxy.port);
      proxied = createDb({ url: via.toString() });
    });
    afterAll(async () => {
      await proxied?.destroy();
      await proxy?.close();
    });

    it("a connection lost during COMMIT is internal, outcome unknown, and not retried", async () => {
      const job = await seedJob(db, rg, "Ready");
      const retries: RetryInfo[] = [];
      const cut = proxy.cutOn(/^commit$/i);
      await expectStorageError(
        withTransaction(
          proxied,
          async (trx) => {
            await trx.updateTable("jobs").set({ error_message: "lost commit" }).where("id", "=", job).execute();
          },
          { onRetry: (i) => retries.push(i), operation: "lost-commit test" },
        ),
        "internal",
        /connection to the database lost during lost-commit test; outcome unknown/,
      );
      expect(await cut).toMatch(/commit/i);
      expect(retries).toEqual([]);
      // The proxy swallowed the COMMIT: the server never committed, and a plain read sees committed rows only (no wait needed).
      expect((await db.selectFrom("jobs").select("error_message").where("id", "=", job).executeTakeFirstOrThrow()).error_message).toBeNull();
    });

    it("a connection lost before COMMIT is retried, and the first attempt's writes are gone", async () => {
      const job = await seedJob(db, rg, "Ready");
      const retries: RetryInfo[] = [];
      void proxy.cutOn(/cut-here/);
      let attempts = 0;
      await withTransaction(
        proxied,
        async (trx) => {
          attempts++;
          await trx.insertInto("task_checkpoints").values({ job_id: job, task_index: 7, outputs: new Uint8Array([1]) }).execute();
          await sql`SELECT 'cut-here'`.execute(trx);
        },
        { onRetry: (i) => retries.push(i) },
      );
      expect(attempts).toBe(2);
      expect(retries.map((r) => r.errorClass)).toEqual(["connection_lost"]);
      const rows = await db.selectFrom("task_checkpoints").selectAll().where("job_id", "=", job).execute();
      expect(rows).toHaveLength(1);
    });

    it("an autocommit write whose connection is lost is internal; a lost read is retried", async () => {
      const cut = proxy.cutOn(/insert into `jobs`/i);
      await expectStorageError(
        insertJob(proxied, { resourceGroupId: rg, compressedTaskGraph: GRAPH, compressedInputs: INPUTS }),
        "internal",
        /insertJob; outcome unknown/,
      );
      await cut;
      const job = await seedJob(db, rg, "Running");
      void proxy.cutOn(/select `state` from `jobs`/i);
      expect(await getJobState(proxied, job)).toBe("Running");
      proxy.disarm();
    });
  });
});
