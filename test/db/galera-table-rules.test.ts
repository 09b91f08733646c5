/**
 * What Galera needs of every table (issue 19): a primary key — certification
 * identifies a write set's rows by it, and a table without one replicates
 * unreliably — and InnoDB, the only engine Galera replicates. Read from
 * information_schema after all migrations, so a table added later (the
 * migrations' own bookkeeping included) is checked too.
 */
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "../../src/db/connection.ts";
import { migratedDb } from "./db-fixture.ts";

interface TableRow {
  readonly name: string;
  readonly engine: string | null;
  readonly primaryKeys: bigint | number | string;
}

describe("every table suits Galera", () => {
  let db: Db;
  let tables: TableRow[];

  beforeAll(async () => {
    ({ db } = await migratedDb("galera_tables"));
    const result = await sql<TableRow>`
      SELECT t.TABLE_NAME AS name, t.ENGINE AS engine,
        (SELECT COUNT(*) FROM information_schema.TABLE_CONSTRAINTS c
          WHERE c.TABLE_SCHEMA = t.TABLE_SCHEMA AND c.TABLE_NAME = t.TABLE_NAME
            AND c.CONSTRAINT_TYPE = 'PRIMARY KEY') AS primaryKeys
      FROM information_schema.TABLES t
      WHERE t.TABLE_SCHEMA = DATABASE() AND t.TABLE_TYPE = 'BASE TABLE'
      ORDER BY t.TABLE_NAME`.execute(db);
    tables = result.rows;
  });
  afterAll(async () => {
    await db?.destroy();
  });

  it("sees the schema's tables", () => {
    expect(tables.map((t) => t.name)).toEqual(expect.arrayContaining(["jobs", "sessions", "task_checkpoints", "schema_migrations"]));
  });

  it("has a primary key on every table", () => {
    expect(tables.filter((t) => Number(t.primaryKeys) !== 1).map((t) => t.name)).toEqual([]);
  });

  it("keeps every table in InnoDB", () => {
    expect(tables.filter((t) => t.engine?.toLowerCase() !== "innodb").map((t) => `${t.name} (${t.engine})`)).toEqual([]);
  });
});
