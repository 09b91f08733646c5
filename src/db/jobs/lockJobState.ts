/**
 * `lockJobState`: reads a job's state and locks its row until the end of the
 * caller's transaction (`SELECT state … FOR UPDATE`). Only meaningful inside
 * `withTransaction` (READ COMMITTED, so a missing id takes no gap lock).
 */
import type { JobState } from "../../core/job-state.ts";
import type { DbTransaction } from "../transaction.ts";
import { jobNotFound } from "./job-not-found.ts";

export async function lockJobState(trx: DbTransaction, jobId: bigint): Promise<JobState> {
  const row = await trx.selectFrom("jobs").select("state").where("id", "=", jobId).forUpdate().executeTakeFirst();
  if (row === undefined) throw jobNotFound();
  return row.state;
}
