/**
 * `jobs retry ID` on a running server: Failed → Running, keeping the tasks
 * whose checkpoints can be used (src/service/retry-failed-job.ts), logged with
 * who asked, why, and how much runs again.
 */
import type { JobState } from "../core/job-state.ts";
import { retryFailedJob } from "../service/retry-failed-job.ts";
import type { AdminHost } from "./admin-host.ts";
import { auditWrite, type Actor } from "./audit.ts";
import { findJob } from "./find-job.ts";
import { operatorReason } from "./operator-reason.ts";
import { requireServiceDb } from "./require-ready.ts";

export interface RetriedJob {
  readonly jobId: bigint;
  readonly previousState: JobState;
  readonly state: JobState;
  /** Tasks restored from their checkpoints. */
  readonly keptTasks: number;
  /** Indices of the tasks that run again. */
  readonly rerunTasks: readonly number[];
  readonly enqueued: number;
}

export async function retryJobByOperator(host: AdminHost, actor: Actor, request: { readonly jobId: bigint; readonly reason: string }): Promise<RetriedJob> {
  const { service, db } = requireServiceDb(host);
  await findJob(db, request.jobId); // "job N not found" for an unknown id
  const result = await retryFailedJob(service.engine, request.jobId);
  auditWrite(host.logger, actor, "job retried", operatorReason(request.reason), {
    jobId: request.jobId,
    state: result.state,
    keptTasks: result.keptTasks,
    rerunTasks: result.rerunTasks.length,
    ...(result.quarantineReason === undefined ? {} : { quarantineReason: result.quarantineReason }),
  });
  return {
    jobId: request.jobId,
    previousState: result.previousState,
    state: result.state,
    keptTasks: result.keptTasks,
    rerunTasks: result.rerunTasks,
    enqueued: result.enqueued,
  };
}
