/**
 * `getJob`: one job's whole row, for operator tooling and recovery. Blobs
 * only with `withBlobs: true` (the return type then says they are there).
 */
import type { Db } from "../connection.ts";
import { runStatement } from "../run-statement.ts";
import { jobNotFound } from "./job-not-found.ts";
import { JOB_COLUMNS, toJobRow, type JobRow, type JobRowWithBlobs, type ReadJobOptions } from "./job-row.ts";

export async function getJob(db: Db, jobId: bigint, options: { readonly withBlobs: true }): Promise<JobRowWithBlobs>;
export async function getJob(db: Db, jobId: bigint, options?: ReadJobOptions): Promise<JobRow>;
export async function getJob(db: Db, jobId: bigint, options: ReadJobOptions = {}): Promise<JobRow> {
  const withBlobs = options.withBlobs ?? false;
  return runStatement(db, { operation: "getJob", writes: false }, async (connection) => {
    const query = connection.selectFrom("jobs").where("id", "=", jobId);
    const row = withBlobs ? await query.selectAll().executeTakeFirst() : await query.select(JOB_COLUMNS).executeTakeFirst();
    if (row === undefined) throw jobNotFound();
    return toJobRow(row, withBlobs);
  });
}
