/**
 * The largest values one statement can carry (issue #16 A). mysql2 sends
 * statements over the text protocol: a binary value travels as X'…' hex (two
 * bytes per byte), a string escaped (at most two bytes per byte), and the
 * whole statement must fit the server's `max_allowed_packet` (16 MiB by
 * default on MariaDB 10.11) — beyond it the server answers 1153 whatever the
 * number of attempts. Checking before sending turns that into a refusal that
 * names the limit.
 */
import type { Db } from "./connection.ts";
import { runStatement } from "./run-statement.ts";
import { sql } from "kysely";

/** Room left in a packet for the rest of the statement (keywords, ids, other columns). */
const STATEMENT_OVERHEAD_BYTES = 4096;

export async function readMaxAllowedPacket(db: Db): Promise<number> {
  return runStatement(db, { operation: "readMaxAllowedPacket", writes: false }, async (connection) => {
    const result = await sql<{ packet: number | bigint | string }>`SELECT @@max_allowed_packet AS packet`.execute(connection);
    return Number(result.rows[0]!.packet);
  });
}

/** Most bytes of one binary (or string) value a statement can carry under this packet limit. */
export function maxValueBytes(maxAllowedPacket: number): number {
  return Math.max(0, Math.floor((maxAllowedPacket - STATEMENT_OVERHEAD_BYTES) / 2));
}
