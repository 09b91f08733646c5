/**
 * `jobs requeue ID [--release-instances]` on a running server: re-enqueues the
 * job's ready work (src/service/requeue-job.ts), logged with who asked and why.
 */
import { requeueJob, type RequeueResult } from "../service/requeue-job.ts";
import type { AdminHost } from "./admin-host.ts";
import { auditWrite, type Actor } from "./audit.ts";
import { findJob } from "./find-job.ts";
import { operatorReason } from "./operator-reason.ts";
import { requireServiceDb } from "./require-ready.ts";

export async function requeueJobByOperator(
  host: AdminHost,
  actor: Actor,
  request: { readonly jobId: bigint; readonly releaseInstances: boolean; readonly reason: string },
): Promise<RequeueResult & { jobId: bigint }> {
  const { service, db } = requireServiceDb(host);
  await findJob(db, request.jobId); // "job N not found" for an unknown id
  const result = await requeueJob(service.engine, request.jobId, { releaseInstances: request.releaseInstances });
  auditWrite(host.logger, actor, "job requeued", operatorReason(request.reason), {
    jobId: request.jobId,
    releaseInstances: request.releaseInstances,
    ...result,
  });
  return { jobId: request.jobId, ...result };
}
