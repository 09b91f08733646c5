/** `countJobsByState`: how many jobs are in each state (every state present, zeros included). */
import { sql } from "kysely";
import { JOB_STATES, type JobState } from "../../core/job-state.ts";
import type { Db } from "../connection.ts";
import { runStatement } from "../run-statement.ts";

export async function countJobsByState(db: Db): Promise<Record<JobState, number>> {
  return runStatement(db, { operation: "countJobsByState", writes: false }, async (connection) => {
    const rows = await connection
      .selectFrom("jobs")
      .select(["state", sql<bigint>`COUNT(*)`.as("count")])
      .groupBy("state")
      .execute();
    const counts = Object.fromEntries(JOB_STATES.map((state) => [state, 0])) as Record<JobState, number>;
    for (const row of rows) counts[row.state] = Number(row.count);
    return counts;
  });
}
