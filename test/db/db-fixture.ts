/**
 * Shared set-up for the db tests: a migrated database of its own per caller,
 * and quick ways to put rows in a given state without going through the
 * operations under test.
 */
import { randomBytes } from "node:crypto";
import { sql } from "kysely";
import { isTerminal, type JobState } from "../../src/core/job-state.ts";
import { createDb, type Db } from "../../src/db/connection.ts";
import { migrateToLatest } from "../../src/db/migrate.ts";
import { testDatabase } from "../../testkit/test-database.ts";

export interface MigratedDb {
  readonly url: string;
  readonly db: Db;
}

export async function migratedDb(prefix = "db", maxConnections = 8): Promise<MigratedDb> {
  const url = await testDatabase(prefix);
  const db = createDb({ url, maxConnections });
  await migrateToLatest(db);
  return { url, db };
}

/** A resource group row with a placeholder hash (no scrypt cost). */
export async function seedResourceGroup(db: Db): Promise<bigint> {
  const result = await db
    .insertInto("resource_groups")
    .values({ external_id: `rg-${randomBytes(6).toString("hex")}`, password_hash: Buffer.from("scrypt$placeholder") })
    .executeTakeFirstOrThrow();
  return result.insertId!;
}

export const GRAPH = Uint8Array.from([0x28, 0xb5, 0x2f, 0xfd, 1, 2, 3]);
export const INPUTS = Uint8Array.from([0x28, 0xb5, 0x2f, 0xfd, 9, 8, 7]);
export const OUTPUTS = Uint8Array.from([1, 0, 0, 0, 0, 0, 0, 0, 42]);

/**
 * A job put straight into `state` with the columns that state implies
 * (outputs from CommitReady on the success path, a message when Failed,
 * `ended_at` when terminal).
 */
export async function seedJob(db: Db, resourceGroupId: bigint, state: JobState = "Ready"): Promise<bigint> {
  const result = await db
    .insertInto("jobs")
    .values({ resource_group_id: resourceGroupId, compressed_serialized_task_graph: GRAPH, compressed_serialized_job_inputs: INPUTS })
    .executeTakeFirstOrThrow();
  const id = result.insertId!;
  if (state !== "Ready") {
    await db
      .updateTable("jobs")
      .set({
        state,
        serialized_job_outputs: state === "CommitReady" || state === "Succeeded" ? OUTPUTS : null,
        error_message: state === "Failed" ? "seeded failure" : null,
        ended_at: isTerminal(state) ? sql<Date>`CURRENT_TIMESTAMP(3)` : null,
      })
      .where("id", "=", id)
      .execute();
  }
  return id;
}

/** Moves a terminal job's end time `seconds` into the past. */
export async function ageJob(db: Db, jobId: bigint, seconds: number): Promise<void> {
  await sql`UPDATE jobs SET ended_at = CURRENT_TIMESTAMP(3) - INTERVAL ${seconds} SECOND WHERE id = ${jobId}`.execute(db);
}

export async function rawJobRow(db: Db, jobId: bigint) {
  return db.selectFrom("jobs").selectAll().where("id", "=", jobId).executeTakeFirst();
}
