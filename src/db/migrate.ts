/**
 * Applies the migrations of migrations/ and refuses a database whose schema is
 * newer than this code (a rollback must not silently run old code on it).
 */
import { Migrator, type MigrationResult } from "kysely/migration";
import { MIGRATIONS } from "../../migrations/index.ts";
import type { Db } from "./connection.ts";
import { dbErrno, ER_NO_SUCH_TABLE } from "./db-errors.ts";

const MIGRATION_TABLE = "schema_migrations";
const MIGRATION_LOCK_TABLE = "schema_migrations_lock";

export function createMigrator(db: Db): Migrator {
  return new Migrator({
    db,
    provider: { getMigrations: async () => MIGRATIONS },
    migrationTableName: MIGRATION_TABLE,
    migrationLockTableName: MIGRATION_LOCK_TABLE,
  });
}

export interface SchemaStatus {
  readonly applied: string[];
  readonly pending: string[];
  /** Applied in the database but unknown to this code: the schema is newer. */
  readonly unknown: string[];
}

/**
 * One query, not the migrator's look (which reads information_schema first, the
 * slowest statement of a start on an empty database): the names the migration
 * table records, none when it does not exist yet.
 */
async function recordedMigrations(db: Db): Promise<string[]> {
  try {
    const rows = await db
      .selectFrom(MIGRATION_TABLE as never)
      .select("name" as never)
      .execute();
    return (rows as { name: string }[]).map((r) => r.name);
  } catch (error) {
    // No such table: no migration has ever run on this database.
    if (dbErrno(error) === ER_NO_SUCH_TABLE) return [];
    throw error;
  }
}

export async function schemaStatus(db: Db): Promise<SchemaStatus> {
  const known = Object.keys(MIGRATIONS).sort();
  const recorded = await recordedMigrations(db);
  const recordedSet = new Set(recorded);
  const knownSet = new Set(known);
  return {
    applied: known.filter((name) => recordedSet.has(name)),
    pending: known.filter((name) => !recordedSet.has(name)),
    unknown: recorded.filter((name) => !knownSet.has(name)).sort(),
  };
}

export class SchemaTooNewError extends Error {
  readonly unknownMigrations: string[];
  constructor(unknownMigrations: string[]) {
    super(
      `the database schema is newer than this spider-storage: it has migrations this code does not know ` +
        `(${unknownMigrations.join(", ")}); run the newer version, or restore a matching backup`,
    );
    this.name = "SchemaTooNewError";
    this.unknownMigrations = unknownMigrations;
  }
}

/** Applies every pending migration. Throws {@link SchemaTooNewError} before touching anything if the schema is newer. */
export async function migrateToLatest(db: Db): Promise<MigrationResult[]> {
  const status = await schemaStatus(db);
  if (status.unknown.length > 0) throw new SchemaTooNewError(status.unknown);
  const { error, results } = await createMigrator(db).migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return results ?? [];
}

/** Fails unless the schema is exactly what this code expects (for `serve --no-migrate`). */
export async function assertSchemaCurrent(db: Db): Promise<void> {
  const status = await schemaStatus(db);
  if (status.unknown.length > 0) throw new SchemaTooNewError(status.unknown);
  if (status.pending.length > 0) {
    throw new Error(`the database schema is behind: pending migrations ${status.pending.join(", ")}; run \`spider-storage migrate\``);
  }
}
