/** `sampleJobIds`: up to `limit` ids of jobs breaking one invariant of job-row-violations.ts, in id order. */
import type { Db } from "../connection.ts";
import { runStatement } from "../run-statement.ts";
import { JOB_ROW_VIOLATIONS, type JobRowViolation } from "./job-row-violations.ts";

export async function sampleJobIds(db: Db, violation: JobRowViolation, limit: number): Promise<bigint[]> {
  return runStatement(db, { operation: `sampleJobIds ${violation}`, writes: false }, async (connection) => {
    const rows = await connection.selectFrom("jobs").select("id").where(JOB_ROW_VIOLATIONS[violation]).orderBy("id").limit(limit).execute();
    return rows.map((row) => row.id);
  });
}
