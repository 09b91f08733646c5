/** Reads a job's row for an admin command; an unknown id is "not_found" naming the id. */
import { isStorageError, notFound } from "../core/errors.ts";
import type { Db } from "../db/connection.ts";
import { getJob } from "../db/jobs/getJob.ts";
import type { JobRow, JobRowWithBlobs } from "../db/jobs/job-row.ts";

export async function findJob(db: Db, jobId: bigint, options: { readonly withBlobs: true }): Promise<JobRowWithBlobs>;
export async function findJob(db: Db, jobId: bigint, options?: { readonly withBlobs?: false }): Promise<JobRow>;
export async function findJob(db: Db, jobId: bigint, options: { readonly withBlobs?: boolean } = {}): Promise<JobRow> {
  try {
    return options.withBlobs ? await getJob(db, jobId, { withBlobs: true }) : await getJob(db, jobId);
  } catch (error) {
    if (isStorageError(error, "not_found")) throw notFound(`job ${jobId} not found`);
    throw error;
  }
}
