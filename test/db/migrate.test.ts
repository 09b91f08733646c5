import { sql } from "kysely";
import { NO_MIGRATIONS } from "kysely/migration";
import { afterAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "../../src/db/connection.ts";
import { assertSchemaCurrent, createMigrator, migrateToLatest, SchemaTooNewError, schemaStatus } from "../../src/db/migrate.ts";
import { MIGRATIONS } from "../../migrations/index.ts";
import { testDatabase } from "../../testkit/test-database.ts";

const TABLES = ["sessions", "resource_groups", "jobs", "execution_managers", "schedulers", "task_checkpoints", "leader_fence"];

async function tables(db: Db): Promise<string[]> {
  const result = await sql<{ name: string }>`
    SELECT TABLE_NAME AS name FROM information_schema.TABLES
    WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME NOT LIKE 'schema_migrations%'
    ORDER BY TABLE_NAME`.execute(db);
  return result.rows.map((r) => r.name);
}

describe("migrations", () => {
  const dbs: Db[] = [];
  afterAll(async () => {
    await Promise.all(dbs.map((db) => db.destroy()));
  });
  async function freshDb(): Promise<Db> {
    const db = createDb({ url: await testDatabase("migrate") });
    dbs.push(db);
    return db;
  }

  it("applies every migration once, in order, and a second run does nothing", async () => {
    const db = await freshDb();
    const first = await migrateToLatest(db);
    expect(first.map((r) => [r.migrationName, r.status])).toEqual(Object.keys(MIGRATIONS).map((name) => [name, "Success"]));
    expect(await tables(db)).toEqual([...TABLES].sort());
    expect(await migrateToLatest(db)).toEqual([]);
    await assertSchemaCurrent(db);
  });

  it("creates the columns and indexes the db layer relies on", async () => {
    const db = await freshDb();
    await migrateToLatest(db);
    const columns = await sql<{ table: string; column: string; type: string; nullable: string; precision: bigint | null }>`
      SELECT TABLE_NAME AS \`table\`, COLUMN_NAME AS \`column\`, COLUMN_TYPE AS type, IS_NULLABLE AS nullable,
             DATETIME_PRECISION AS \`precision\`
      FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE()`.execute(db);
    const column = (table: string, name: string) => columns.rows.find((c) => c.table === table && c.column === name);
    expect(column("jobs", "ended_at")).toMatchObject({ nullable: "YES", precision: 3n });
    expect(column("jobs", "created_at")).toMatchObject({ nullable: "NO", precision: 3n });
    expect(column("jobs", "max_num_retries")).toBeUndefined();
    expect(column("jobs", "num_retries")).toBeUndefined();
    expect(column("jobs", "id")?.type).toBe("bigint(20) unsigned");
    expect(column("jobs", "state")?.type).toBe(
      "enum('Ready','Running','CommitReady','CleanupReady','Succeeded','Failed','Cancelled')",
    );
    expect(column("resource_groups", "password_hash")?.type).toBe("varbinary(256)");
    expect(column("resource_groups", "password")).toBeUndefined();
    expect(column("execution_managers", "last_heartbeat_at")).toMatchObject({ precision: 3n });
    expect(column("task_checkpoints", "task_index")?.type).toBe("int(10) unsigned");
    expect(column("task_checkpoints", "outputs")?.type).toBe("longblob");

    const indexes = await sql<{ table: string; name: string; seq: number; column: string }>`
      SELECT TABLE_NAME AS \`table\`, INDEX_NAME AS name, SEQ_IN_INDEX AS seq, COLUMN_NAME AS \`column\`
      FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX`.execute(db);
    const index = (table: string, name: string) =>
      indexes.rows.filter((i) => i.table === table && i.name === name).map((i) => i.column);
    expect(index("jobs", "jobs_state_id")).toEqual(["state", "id"]);
    expect(index("jobs", "jobs_ended_at")).toEqual(["ended_at"]);
    expect(index("execution_managers", "execution_manager_liveness")).toEqual(["state", "last_heartbeat_at"]);
    expect(index("task_checkpoints", "PRIMARY")).toEqual(["job_id", "task_index"]);
    expect(index("resource_groups", "resource_groups_external_id")).toEqual(["external_id"]);
  });

  it("refuses a schema newer than the code, before touching anything", async () => {
    const db = await freshDb();
    await migrateToLatest(db);
    await sql`INSERT INTO schema_migrations (name, timestamp) VALUES ('9999_from_the_future', '2099-01-01T00:00:00.000Z')`.execute(db);
    await expect(migrateToLatest(db)).rejects.toBeInstanceOf(SchemaTooNewError);
    await expect(assertSchemaCurrent(db)).rejects.toThrow(/newer than this spider-storage.*9999_from_the_future/);
    expect((await schemaStatus(db)).unknown).toEqual(["9999_from_the_future"]);
  });

  it("says the schema is behind when migrations are pending", async () => {
    const db = await freshDb();
    await expect(assertSchemaCurrent(db)).rejects.toThrow(/pending migrations 0001_create_sessions/);
  });

  it("reads the schema's status from the migration table alone: none, some and all applied", async () => {
    const db = await freshDb();
    const known = Object.keys(MIGRATIONS).sort();
    expect(await schemaStatus(db)).toEqual({ applied: [], pending: known, unknown: [] });
    const partway = known[2]!;
    expect((await createMigrator(db).migrateTo(partway)).error).toBeUndefined();
    expect(await schemaStatus(db)).toEqual({ applied: known.slice(0, 3), pending: known.slice(3), unknown: [] });
    await migrateToLatest(db);
    expect(await schemaStatus(db)).toEqual({ applied: known, pending: [], unknown: [] });
  });

  it("passes on a database error other than a missing migration table, rather than calling every migration pending", async () => {
    const url = new URL(await testDatabase("migrate"));
    url.pathname = "/no_such_database_here";
    const db = createDb({ url: url.href });
    dbs.push(db);
    await expect(schemaStatus(db)).rejects.toMatchObject({ errno: 1049 }); // ER_BAD_DB_ERROR
  });

  it("every migration can be undone and redone", async () => {
    const db = await freshDb();
    await migrateToLatest(db);
    const down = await createMigrator(db).migrateTo(NO_MIGRATIONS);
    expect(down.error).toBeUndefined();
    expect(await tables(db)).toEqual([]);
    await migrateToLatest(db);
    expect(await tables(db)).toEqual([...TABLES].sort());
  });
});
