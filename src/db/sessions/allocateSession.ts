/** `allocateSession`: starts a new session (one row per server lifetime) and returns its id, strictly greater than every earlier one. */
import { sql } from "kysely";
import type { Db } from "../connection.ts";
import { insertIdOf } from "../insert-id.ts";

export async function allocateSession(db: Db): Promise<bigint> {
  // MySQL has no `DEFAULT VALUES`; the empty column list is its spelling, and kysely cannot say it.
  const result = await sql`INSERT INTO sessions () VALUES ()`.execute(db);
  return insertIdOf(result, "sessions");
}
