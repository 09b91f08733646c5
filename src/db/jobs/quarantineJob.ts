/**
 * `quarantineJob`: recovery found a row it cannot use (undecodable graph,
 * inputs or outputs) and fails the job instead of refusing to start. There is
 * no quarantine column: the job is Failed with an error message that starts
 * with {@link QUARANTINE_PREFIX}, so GetJobError, `jobs inspect` and `doctor`
 * all show why, and `isQuarantineMessage` finds such jobs.
 */
import type { Db } from "../connection.ts";
import { transitionJob, type JobTransition } from "./transitionJob.ts";

export const QUARANTINE_PREFIX = "quarantined: ";

export function isQuarantineMessage(errorMessage: string | null): boolean {
  return errorMessage?.startsWith(QUARANTINE_PREFIX) ?? false;
}

export async function quarantineJob(db: Db, jobId: bigint, reason: string): Promise<JobTransition> {
  return transitionJob(db, jobId, { to: "Failed", errorMessage: QUARANTINE_PREFIX + reason, by: "quarantine" });
}
