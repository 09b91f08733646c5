/**
 * One job as recovery reads it from the database: its row with blobs and,
 * for a Running job, its task checkpoints. Restart recovery reads these a
 * page at a time (recover-jobs.ts); the settling pass, the loader of Ready
 * jobs and the operator's reload read one job with {@link readStoredJob},
 * through the engine's store (so the in-memory store and fault injection
 * reach them too).
 */
import type { JobStore } from "../db/job-store.ts";
import type { JobRowWithBlobs } from "../db/jobs/job-row.ts";

/** What reading one stored job needs of a store. */
export type StoredJobReader = Pick<JobStore, "getJob" | "readCheckpoints">;

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
export async function readStoredJob(store: StoredJobReader, jobId: bigint, options: ReadStoredJobOptions = {}): Promise<StoredJob> {
  const row = await store.getJob(jobId);
  if (row.state !== "Running" || options.checkpoints === false) return { row, checkpoints: undefined };
  const checkpoints = await store.readCheckpoints(jobId);
  return { row, checkpoints: checkpoints.length === 0 ? undefined : new Map(checkpoints.map((c) => [c.taskIndex, c.outputs])) };
}
