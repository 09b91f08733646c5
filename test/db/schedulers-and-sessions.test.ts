import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "../../src/db/connection.ts";
import { listSchedulers } from "../../src/db/schedulers/listSchedulers.ts";
import { registerScheduler } from "../../src/db/schedulers/registerScheduler.ts";
import { allocateSession } from "../../src/db/sessions/allocateSession.ts";
import { latestSession } from "../../src/db/sessions/latestSession.ts";
import { migratedDb } from "./db-fixture.ts";
import { expectStorageError } from "./expect-storage-error.ts";

describe("schedulers", () => {
  let db: Db;
  beforeAll(async () => {
    ({ db } = await migratedDb("sched"));
  });
  afterAll(async () => {
    await db?.destroy();
  });

  it("test_register_scheduler_replaces_previous_scheduler", async () => {
    expect(await listSchedulers(db)).toEqual([]);
    const first = await registerScheduler(db, "scheduler-a.spider.svc.cluster.local", 6000);
    const second = await registerScheduler(db, "scheduler-b.spider.svc.cluster.local", 6001);
    expect(second).not.toBe(first);
    const rows = await listSchedulers(db);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ id: second, host: "scheduler-b.spider.svc.cluster.local", port: 6001 });
    expect(rows[0]!.createdAt).toBeInstanceOf(Date);
    // Same endpoint again: still a fresh id.
    const third = await registerScheduler(db, "scheduler-b.spider.svc.cluster.local", 6001);
    expect(third).toBeGreaterThan(second);
    expect((await listSchedulers(db)).map((s) => s.id)).toEqual([third]);
  });

  it("concurrent registrations leave exactly one row", async () => {
    const ids = await Promise.all(Array.from({ length: 8 }, (_, i) => registerScheduler(db, `host-${i}`, 7000 + i)));
    const rows = await listSchedulers(db);
    expect(rows).toHaveLength(1);
    expect(ids).toContain(rows[0]!.id);
  });

  it("refuses an empty or overlong host and an out-of-range port", async () => {
    await expectStorageError(registerScheduler(db, "", 1), "invalid_argument");
    await expectStorageError(registerScheduler(db, "h".repeat(256), 1), "invalid_argument");
    await expectStorageError(registerScheduler(db, "h", 65_536), "invalid_argument");
    await registerScheduler(db, "h".repeat(255), 65_535);
  });
});

describe("sessions", () => {
  let db: Db;
  beforeAll(async () => {
    ({ db } = await migratedDb("sess"));
  });
  afterAll(async () => {
    await db?.destroy();
  });

  it("test_session_id_returned_after_connect and test_session_id_bumps_on_reconnect", async () => {
    expect(await latestSession(db)).toBeUndefined();
    const first = await allocateSession(db);
    expect(first).toBeGreaterThan(0n);
    const second = await allocateSession(db);
    expect(second).toBeGreaterThan(first);
    expect(await latestSession(db)).toBe(second);
  });
});
