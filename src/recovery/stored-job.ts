/**
 * One job as recovery reads it from the database: its row with blobs and,
 * for a Running job, its task checkpoints. Restart recovery reads these a
 * page at a time (recover-jobs.ts); the settling pass, the loader of Ready
 * jobs and the operator's reload read one job with {@link readStoredJob}.
 */
import type { Db } from "../db/connection.ts";
import { readCheckpointsOfJobs } from "../db/checkpoints/readCheckpointsOfJobs.ts";
import { getJob } from "../db/jobs/getJob.ts";
import type { JobRowWithBlobs } from "../db/jobs/job-row.ts";

export interface StoredJob {
  readonly row: JobRowWithBlobs;
  /** Task index → outputs wire frame; read for a Running job only (undefined when it has none). */
  readonly checkpoints: ReadonlyMap<number, Uint8Array> | undefined;
}

export interface ReadStoredJobOptions {
  /** False when the caller rebuilds Ready jobs only, which have no checkpoints: saves the query for a Running row. Default true. */
  readonly checkpoints?: boolean;
}

/** NOT_FOUND for an unknown job. */
export async function readStoredJob(db: Db, jobId: bigint, options: ReadStoredJobOptions = {}): Promise<StoredJob> {
  const row = await getJob(db, jobId, { withBlobs: true });
  const wanted = row.state === "Running" && (options.checkpoints ?? true);
  return { row, checkpoints: wanted ? (await readCheckpointsOfJobs(db, [jobId])).get(jobId) : undefined };
}
