/** `countJobRowViolations`: one scan of the jobs table counting the rows that break each invariant of job-row-violations.ts. */
import type { Db } from "../connection.ts";
import { runStatement } from "../run-statement.ts";
import { JOB_ROW_VIOLATION_NAMES, JOB_ROW_VIOLATIONS, type JobRowViolation } from "./job-row-violations.ts";

export async function countJobRowViolations(db: Db): Promise<Record<JobRowViolation, number>> {
  return runStatement(db, { operation: "countJobRowViolations", writes: false }, async (connection) => {
    const row = await connection
      .selectFrom("jobs")
      .select((eb) =>
        JOB_ROW_VIOLATION_NAMES.map((name) => {
          const matches = eb.case().when(JOB_ROW_VIOLATIONS[name](eb)).then(eb.lit(1)).else(eb.lit(0)).end();
          return eb.fn.coalesce(eb.fn.sum<bigint | string | null>(matches), eb.lit(0)).as(name);
        }),
      )
      .executeTakeFirst();
    return Object.fromEntries(JOB_ROW_VIOLATION_NAMES.map((name) => [name, Number(row?.[name] ?? 0)])) as Record<JobRowViolation, number>;
  });
}
