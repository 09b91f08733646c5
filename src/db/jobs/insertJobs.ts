/**
 * `insertJobs`: stores several newly submitted jobs (state Ready) in one
 * multi-row INSERT — RegisterJob's group commit (issue 20). The ids come back
 * with `RETURNING id`, row by row in the order given: the OK packet names only
 * the first id, and the rest cannot be derived from it (Galera steps ids by
 * the cluster size and interleaves concurrent inserts; DECISIONS D8, amended).
 *
 * All or nothing: one row with an unknown resource group fails the whole
 * statement (ER_NO_REFERENCED_ROW, nothing inserted): the answer is then
 * undefined, and the caller inserts the jobs one by one to give each its own
 * answer.
 */
import { CompiledQuery } from "kysely";
import type { Db } from "../connection.ts";
import { dbErrno, ER_NO_REFERENCED_ROW } from "../db-errors.ts";
import { runStatement } from "../run-statement.ts";
import { INSERT_JOBS_SQL, newJobParameters, type NewJob } from "./insertJob.ts";

export async function insertJobs(db: Db, jobs: readonly NewJob[]): Promise<bigint[] | undefined> {
  if (jobs.length === 0) return [];
  return runStatement(db, { operation: `insertJobs (${jobs.length})`, writes: true }, async (connection) => {
    let rows: readonly { id: bigint }[];
    try {
      // As SQL text, not built per call (issue 20.4); kysely's MySQL adapter would not read RETURNING's rows back anyway.
      rows = (await connection.executeQuery(insertJobsStatement(jobs))).rows;
    } catch (error) {
      if (dbErrno(error) === ER_NO_REFERENCED_ROW) return undefined;
      throw error;
    }
    if (rows.length !== jobs.length) throw new Error(`INSERT of ${jobs.length} jobs returned ${rows.length} ids`);
    return rows.map((row) => BigInt.asUintN(64, BigInt(row.id)));
  });
}

/** The multi-row INSERT … RETURNING id of `jobs` (what kysely compiles for newJobRow's columns). */
export function insertJobsStatement(jobs: readonly NewJob[]): CompiledQuery<{ id: bigint }> {
  return CompiledQuery.raw(`${INSERT_JOBS_SQL}${jobs.map(() => "(?, ?, ?)").join(", ")} returning \`id\``, jobs.flatMap(newJobParameters));
}
