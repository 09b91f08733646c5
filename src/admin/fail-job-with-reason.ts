/**
 * `jobs fail ID --reason …` on a running server: the operator's transition to
 * Failed (src/service/fail-job-by-operator.ts), logged with who asked. The
 * reason is required: it becomes the job's error message.
 */
import { invalidArgument } from "../core/errors.ts";
import type { JobState } from "../core/job-state.ts";
import { failJobByOperator } from "../service/fail-job-by-operator.ts";
import type { AdminHost } from "./admin-host.ts";
import { auditWrite, type Actor } from "./audit.ts";
import { findJob } from "./find-job.ts";
import { operatorReason } from "./operator-reason.ts";
import { requireServiceDb } from "./require-ready.ts";

export async function failJobWithReason(
  host: AdminHost,
  actor: Actor,
  request: { readonly jobId: bigint; readonly reason: string },
): Promise<{ jobId: bigint; previousState: JobState; state: JobState }> {
  const reason = operatorReason(request.reason);
  if (reason === "") throw invalidArgument("failing a job needs a reason (--reason): it becomes the job's error message");
  const { service, db } = requireServiceDb(host);
  await findJob(db, request.jobId); // "job N not found" for an unknown id
  const result = await failJobByOperator(service.engine, request.jobId, reason);
  auditWrite(host.logger, actor, "job failed", reason, { jobId: request.jobId, ...result });
  return { jobId: request.jobId, ...result };
}
