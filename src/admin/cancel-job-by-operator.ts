/**
 * `jobs cancel ID` on a running server: cancels the job as the storage API's
 * CancelJob does (its cleanup task runs if it has one) and logs who asked,
 * why, and the job's state before and after.
 */
import type { JobState } from "../core/job-state.ts";
import type { AdminHost } from "./admin-host.ts";
import { auditWrite, type Actor } from "./audit.ts";
import { findJob } from "./find-job.ts";
import { operatorReason } from "./operator-reason.ts";
import { requireServiceDb } from "./require-ready.ts";
import { cancelJob } from "../service/cancel-job.ts";

export async function cancelJobByOperator(
  host: AdminHost,
  actor: Actor,
  request: { readonly jobId: bigint; readonly reason: string },
): Promise<{ jobId: bigint; previousState: JobState; state: JobState }> {
  const { service, db } = requireServiceDb(host);
  const previousState = (await findJob(db, request.jobId)).state;
  const state = await cancelJob(service.engine, request.jobId);
  auditWrite(host.logger, actor, "job cancelled", operatorReason(request.reason), { jobId: request.jobId, previousState, state });
  return { jobId: request.jobId, previousState, state };
}
