/** `countExpiredTerminalJobs`: how many terminal jobs ended more than `olderThanSeconds` ago (what GC would delete). */
import { sql } from "kysely";
import { TERMINAL_STATES } from "../../core/job-state.ts";
import type { Db } from "../connection.ts";
import { runStatement } from "../run-statement.ts";

export async function countExpiredTerminalJobs(db: Db, olderThanSeconds: number): Promise<number> {
  // INTERVAL arithmetic is beyond kysely: the one raw fragment.
  const cutoff = sql<Date>`CURRENT_TIMESTAMP(3) - INTERVAL ${Math.round(olderThanSeconds * 1_000_000)} MICROSECOND`;
  return runStatement(db, { operation: "countExpiredTerminalJobs", writes: false }, async (connection) => {
    const row = await connection
      .selectFrom("jobs")
      .select((eb) => eb.fn.countAll<bigint>().as("count"))
      .where("ended_at", "<", cutoff)
      .where("state", "in", TERMINAL_STATES)
      .executeTakeFirstOrThrow();
    return Number(row.count);
  });
}
