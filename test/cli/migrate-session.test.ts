/**
 * `spider-storage migrate` takes the single-writer lease itself (DECISIONS D3),
 * so it can slip in while a server has lost its lease and is reconnecting
 * (issue 16). When it changed the schema it starts a session, as other offline
 * write commands do: the server then finds a newer session when it retakes the
 * lease and steps down instead of serving on a schema it did not start with.
 * A migrate that applied nothing changed nothing and starts no session, so it
 * never makes a reconnecting server restart for nothing.
 *
 * (The outage-style test, test/outage/offline-write-during-outage.test.ts, is
 * not practical here: a server migrates at start, so a running server's
 * database has nothing left for `migrate` to apply. What the server does with
 * a newer session is tested there.)
 */
import { sql } from "kysely";
import { afterAll, describe, expect, it } from "vitest";
import { MIGRATIONS } from "../../migrations/index.ts";
import { createMigrator } from "../../src/db/migrate.ts";
import { allocateSession } from "../../src/db/sessions/allocateSession.ts";
import { latestSession } from "../../src/db/sessions/latestSession.ts";
import { testDatabase } from "../../testkit/test-database.ts";
import { expectCleanFailure, expectExit, openDb, runCli } from "./cli-helpers.ts";
import type { Db } from "../../src/db/connection.ts";

describe("migrate and sessions", () => {
  const dbs: Db[] = [];
  afterAll(async () => {
    await Promise.all(dbs.map((db) => db.destroy()));
  });

  it("starts a newer session when it applies a migration, and none when there is nothing to apply", async () => {
    const url = await testDatabase("migrate_session");
    const db = openDb(url);
    dbs.push(db);
    const names = Object.keys(MIGRATIONS);
    const last = names[names.length - 1]!;
    // A database one migration behind, on which a server ran (its session).
    const { error } = await createMigrator(db).migrateTo(names[names.length - 2]!);
    expect(error).toBeUndefined();
    const serverSession = await allocateSession(db);

    const applied = expectExit(await runCli(["migrate", "--database-url", url]), 0);
    expect(applied.stdout).toContain(`applied: ${last}`);
    const afterApplying = await latestSession(db);
    expect(afterApplying).toBeGreaterThan(serverSession);

    const noop = expectExit(await runCli(["migrate", "--database-url", url]), 0);
    expect(noop.stdout).toContain("schema is up to date");
    expect(await latestSession(db)).toBe(afterApplying);
  });

  it("starts a newer session when a migration fails part way, and none when the schema is too new to touch", async () => {
    const url = await testDatabase("migrate_session_failed");
    const db = openDb(url);
    dbs.push(db);
    const names = Object.keys(MIGRATIONS);
    const { error } = await createMigrator(db).migrateTo(names[names.length - 2]!);
    expect(error).toBeUndefined();
    const serverSession = await allocateSession(db);
    // The last migration creates leader_fence: a table already there makes it fail.
    expect(names[names.length - 1]).toBe("0007_create_leader_fence");
    await sql`CREATE TABLE leader_fence (planted INT)`.execute(db);

    const failed = await runCli(["migrate", "--database-url", url]);
    expect(failed.code, failed.stderr).not.toBe(0);
    expect(failed.stderr).toMatch(/leader_fence/);
    const afterFailing = await latestSession(db);
    expect(afterFailing).toBeGreaterThan(serverSession);

    // Refused before touching anything: no session.
    await sql`DROP TABLE leader_fence`.execute(db);
    expectExit(await runCli(["migrate", "--database-url", url]), 0);
    const migrated = await latestSession(db);
    expect(migrated).toBeGreaterThan(afterFailing!);
    await sql`INSERT INTO schema_migrations (name, timestamp) VALUES ('9999_from_the_future', '2099-01-01T00:00:00.000Z')`.execute(db);
    expectCleanFailure(await runCli(["migrate", "--database-url", url]), 1, /newer than this spider-storage/);
    expect(await latestSession(db)).toBe(migrated);
  });
});
