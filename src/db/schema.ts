/**
 * Kysely's view of the tables: one interface per table, in the order the
 * migrations create them. Keep in step with migrations/.
 */
import type { Generated } from "kysely";

export interface SessionsTable {
  session_id: Generated<bigint>;
  started_at: Generated<Date>;
}

export interface DatabaseSchema {
  sessions: SessionsTable;
}
