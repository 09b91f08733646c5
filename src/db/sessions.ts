/** The sessions table: one row per server lifetime. */
import { sql } from "kysely";
import type { Db } from "./connection.ts";
import { insertIdOf } from "./insert-id.ts";

/** Starts a new session and returns its id, strictly greater than every earlier one. */
export async function allocateSession(db: Db): Promise<bigint> {
  // MySQL has no `DEFAULT VALUES`; the empty column list is its spelling.
  const result = await sql`INSERT INTO sessions () VALUES ()`.execute(db);
  return insertIdOf(result, "sessions");
}

/** The newest session, or undefined before any server ran on this database. */
export async function latestSession(db: Db): Promise<bigint | undefined> {
  const row = await db
    .selectFrom("sessions")
    .select(sql<bigint>`MAX(session_id)`.as("id"))
    .executeTakeFirst();
  return row?.id ?? undefined;
}
