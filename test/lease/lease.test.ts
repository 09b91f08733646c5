/**
 * The leader lease (DECISIONS D3) on a real MariaDB, in process: a row taken
 * and renewed only by conditional UPDATEs, expiring by the database's clock.
 */
import { Writable } from "node:stream";
import { createConnection, type Connection, type RowDataPacket } from "mysql2/promise";
import { pino } from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { poolOptionsFromUrl } from "../../src/db/connection.ts";
import { acquireLease, LeaseHeldError, STANDBY_MESSAGE, type Lease, type LeaseEvent } from "../../src/db/lease.ts";
import { ensureLeaseTable } from "../../src/db/lease/ensureLeaseTable.ts";
import { takeHolderLock } from "../../src/db/lease/holderLock.ts";
import { legacyLockName } from "../../src/db/lease/legacyLockHolder.ts";
import { takeLease } from "../../src/db/lease/takeLease.ts";
import { singleConnectionDb } from "../../src/db/single-connection-db.ts";
import { startMariaDb } from "../../testkit/mariadb.ts";
import { testDatabase } from "../../testkit/test-database.ts";
import { waitFor } from "../../testkit/wait-for.ts";

/** A logger whose lines the test can read. */
function captureLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString().split("\n").filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  return { logger: pino({ level: "debug" }, stream), lines };
}

const silent = pino({ level: "silent" });
/** Short timings, so expiries come within the test; 2 × renew ≤ ttl − margin, as the configuration demands. */
const FAST = { ttlMs: 1_500, renewIntervalMs: 200, stepDownMarginMs: 600 };

interface LeaseRowAsStored {
  epoch: bigint;
  holder: string;
  expiresAt: string;
  renewedAt: string;
}

async function storedLease(connection: Connection): Promise<LeaseRowAsStored> {
  const [rows] = await connection.query<RowDataPacket[]>(
    "SELECT CAST(epoch AS CHAR) AS epoch, holder, CAST(expires_at AS CHAR) AS expires_at, CAST(renewed_at AS CHAR) AS renewed_at FROM leader_lease WHERE id = 1",
  );
  const row = rows[0]!;
  return { epoch: BigInt(row["epoch"] as string), holder: row["holder"] as string, expiresAt: row["expires_at"] as string, renewedAt: row["renewed_at"] as string };
}

function events(lease: Lease): LeaseEvent[] {
  const seen: LeaseEvent[] = [];
  for (const event of ["suspended", "resumed", "deposed"] as const) lease.on(event, () => seen.push(event));
  return seen;
}

describe("the leader lease", () => {
  let url: string;
  let sql: Connection;
  const held: Lease[] = [];
  beforeAll(async () => {
    url = await testDatabase("lease");
    sql = await createConnection(poolOptionsFromUrl(url));
  });
  afterEach(async () => {
    await Promise.all(held.splice(0).map((l) => l.release()));
  });
  afterAll(async () => {
    await sql.end();
  });

  it("is created on first use, and the first taker gets a larger epoch than any before", async () => {
    const lease = await acquireLease(url, { logger: silent, holder: "first", ...FAST });
    held.push(lease);
    const row = await storedLease(sql);
    expect(row.epoch).toBe(lease.epoch);
    expect(row.holder).toBe("first");
    await lease.release();
    const again = await acquireLease(url, { logger: silent, holder: "again", ...FAST });
    held.push(again);
    expect(again.epoch).toBe(lease.epoch + 1n);
  });

  it("refuses a taker that will not wait while it is held, naming the holder", async () => {
    const lease = await acquireLease(url, { logger: silent, holder: "the leader", ...FAST });
    held.push(lease);
    const refusal = await acquireLease(url, { logger: silent, holder: "offline", wait: false, ...FAST }).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(LeaseHeldError);
    expect((refusal as LeaseHeldError).holder).toBe("the leader");
    expect((await storedLease(sql)).epoch).toBe(lease.epoch);
  });

  it("is released at once by release(): a standby does not wait out a ten-minute TTL", async () => {
    const long = { ttlMs: 600_000, renewIntervalMs: 200, stepDownMarginMs: 1_000 };
    const first = await acquireLease(url, { logger: silent, holder: "first", ...long });
    held.push(first);
    const { logger, lines } = captureLogger();
    let waiting = 0;
    const second = acquireLease(url, { logger, holder: "second", onWaiting: () => waiting++, ...long });
    await waitFor("the standby to announce itself", () => waiting > 0);
    // Several looks pass while it waits (one per renew interval), announced once only.
    await waitFor("several looks", () => lines.length >= 1 && waiting === 1, { timeoutMs: 5_000 });
    await first.release();
    const taken = await second;
    held.push(taken);
    expect(taken.epoch).toBe(first.epoch + 1n);
    expect(waiting).toBe(1);
    expect(lines.filter((l) => l["msg"] === STANDBY_MESSAGE)).toHaveLength(1);
    expect(lines.find((l) => l["msg"] === STANDBY_MESSAGE)?.["leader"]).toBe("first");
  });

  it("is taken over only after it has expired by the database's clock", async () => {
    // A holder that stops renewing but keeps its connection (a paused process): only the expiry frees the row.
    await ensureLeaseTable(singleConnectionDb(sql));
    await sql.query("UPDATE leader_lease SET expires_at = '1970-01-01 00:00:01' WHERE id = 1");
    const paused = await createConnection(poolOptionsFromUrl(url));
    const crashed = await takeLease(singleConnectionDb(paused), "paused", 1_500);
    expect(crashed).toBeDefined();
    await takeHolderLock(singleConnectionDb(paused), poolOptionsFromUrl(url).database!, crashed!);
    const before = await storedLease(sql);
    const standby = await acquireLease(url, { logger: silent, holder: "standby", ...FAST });
    held.push(standby);
    const after = await storedLease(sql);
    expect(after.epoch).toBe(crashed! + 1n);
    // The takeover's own statement stamped renewed_at with the database's NOW(6).
    expect(after.renewedAt >= before.expiresAt).toBe(true);
    paused.destroy();
  });

  it("is taken over at once on one MariaDB when the holder's lease connection is gone (its process died), not after a ten-minute TTL", async () => {
    const long = { ttlMs: 600_000, renewIntervalMs: 200, stepDownMarginMs: 1_000 };
    await sql.query("UPDATE leader_lease SET expires_at = '1970-01-01 00:00:01' WHERE id = 1");
    // A holder as a server process holds it: the row for ten minutes, and the liveness lock on its connection.
    const holderConnection = await createConnection(poolOptionsFromUrl(url));
    const database = poolOptionsFromUrl(url).database!;
    const epoch = (await takeLease(singleConnectionDb(holderConnection), "about to crash", long.ttlMs))!;
    await takeHolderLock(singleConnectionDb(holderConnection), database, epoch);
    let looks = 0;
    let taken: Lease | undefined;
    const standby = acquireLease(url, { logger: silent, holder: "standby", onLook: () => looks++, ...long }).then((lease) => (taken = lease));
    // While the holder's connection lives the standby waits: several looks, no takeover.
    await waitFor("the standby to look three times", () => looks >= 3);
    expect(taken).toBeUndefined();
    // The holder's process dies: MariaDB drops its connection, and with it the lock.
    holderConnection.destroy();
    held.push(await standby);
    expect(taken!.epoch).toBe(epoch + 1n);
  });

  it("goes to exactly one of ten concurrent takers", async () => {
    const lease = await acquireLease(url, { logger: silent, holder: "setup", ...FAST });
    await lease.release();
    const connections = await Promise.all(Array.from({ length: 10 }, () => createConnection(poolOptionsFromUrl(url))));
    try {
      const epochs = await Promise.all(connections.map((c, i) => takeLease(singleConnectionDb(c), `taker ${i}`, 60_000).catch(() => undefined)));
      const winners = epochs.filter((epoch) => epoch !== undefined);
      expect(winners).toHaveLength(1);
      expect(winners[0]).toBe(lease.epoch + 1n);
    } finally {
      await Promise.all(connections.map((c) => c.end()));
    }
    await sql.query("UPDATE leader_lease SET expires_at = '1970-01-01 00:00:01' WHERE id = 1");
  });

  it("is suspended when renewals cannot get through, and resumes when one does", async () => {
    const lease = await acquireLease(url, { logger: silent, holder: "leader", ...FAST });
    held.push(lease);
    const seen = events(lease);
    // Renewals succeed while nothing blocks them: the lease stays held past several step-down periods.
    const renewedBefore = (await storedLease(sql)).renewedAt;
    await waitFor("a renewal", async () => (await storedLease(sql)).renewedAt > renewedBefore);
    expect(seen).toEqual([]);
    // An open transaction holding the row lock blocks every renewal (each times out).
    const blocker = await createConnection(poolOptionsFromUrl(url));
    try {
      await blocker.query("SET SESSION innodb_lock_wait_timeout = 30");
      await blocker.beginTransaction();
      await blocker.query("SELECT * FROM leader_lease WHERE id = 1 FOR UPDATE");
      await waitFor("the lease to be suspended", () => seen.includes("suspended"), { timeoutMs: 10_000 });
      expect(lease.state).toBe("suspended");
      await blocker.rollback();
    } finally {
      await blocker.end();
    }
    await waitFor("the lease to resume", () => seen.includes("resumed"), { timeoutMs: 10_000 });
    expect(lease.state).toBe("held");
    expect(seen).toEqual(["suspended", "resumed"]);
  });

  it("is deposed when a renewal finds another epoch", async () => {
    const lease = await acquireLease(url, { logger: silent, holder: "leader", ...FAST });
    held.push(lease);
    const seen = events(lease);
    // Another server took over (as it may once the row expired while this one could not renew).
    await sql.query("UPDATE leader_lease SET epoch = epoch + 1, holder = 'usurper' WHERE id = 1");
    await waitFor("the lease to be deposed", () => seen.includes("deposed"), { timeoutMs: 10_000 });
    expect(lease.state).toBe("deposed");
    // A deposed lease's release leaves the new holder alone.
    await lease.release();
    expect((await storedLease(sql)).holder).toBe("usurper");
    await sql.query("UPDATE leader_lease SET expires_at = '1970-01-01 00:00:01' WHERE id = 1");
  });

  it("is not taken while an older version's GET_LOCK lease is held (a rolling upgrade on one MariaDB)", async () => {
    const older = await createConnection(poolOptionsFromUrl(url));
    try {
      const database = poolOptionsFromUrl(url).database!;
      const [[got]] = await older.query<RowDataPacket[]>("SELECT GET_LOCK(?, 0) AS got", [legacyLockName(database)]);
      expect(got?.["got"]).toBe(1);
      const refusal = await acquireLease(url, { logger: silent, holder: "new", wait: false, ...FAST }).catch((error: unknown) => error);
      expect(refusal).toBeInstanceOf(LeaseHeldError);
      expect((refusal as Error).message).toContain("an older spider-storage");
      await older.query("SELECT RELEASE_LOCK(?)", [legacyLockName(database)]);
      const lease = await acquireLease(url, { logger: silent, holder: "new", wait: false, ...FAST });
      held.push(lease);
      expect(lease.state).toBe("held");
    } finally {
      await older.end();
    }
  });

  it("is taken even while held when the caller says no other server can reach the database (the embedded MariaDB)", async () => {
    const crashed = await acquireLease(url, { logger: silent, holder: "crashed", ttlMs: 600_000, renewIntervalMs: 200, stepDownMarginMs: 1_000 });
    held.push(crashed);
    const refusal = await acquireLease(url, { logger: silent, holder: "restarted", wait: false, ...FAST }).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(LeaseHeldError);
    const restarted = await acquireLease(url, { logger: silent, holder: "restarted", wait: false, exclusive: true, ...FAST });
    held.push(restarted);
    expect(restarted.epoch).toBe(crashed.epoch + 1n);
  });

  it("is suspended at once when the database goes away under it, not at the step-down deadline, and resumes when it is back", async () => {
    const mariadb = await startMariaDb();
    try {
      const privateUrl = await mariadb.createDatabase("lease_outage");
      // A ten-minute TTL: only the lost connection can suspend it within this test.
      const lease = await acquireLease(privateUrl, { logger: silent, holder: "leader", ttlMs: 600_000, renewIntervalMs: 200, stepDownMarginMs: 1_000 });
      held.push(lease);
      const seen = events(lease);
      await mariadb.process.kill();
      await waitFor("the lease to be suspended", () => seen.includes("suspended"), { timeoutMs: 10_000 });
      await mariadb.process.start();
      await waitFor("the lease to resume", () => seen.includes("resumed"), { timeoutMs: 30_000 });
      expect(seen).toEqual(["suspended", "resumed"]);
      await lease.release();
    } finally {
      await mariadb.destroy();
    }
  });

  it("names its legacy lock after the database, hashing names over 64 characters", () => {
    expect(legacyLockName("spider")).toBe("spider-storage:spider");
    expect(legacyLockName("x".repeat(64))).toMatch(/^spider-storage:[0-9a-f]{40}$/);
  });
});
