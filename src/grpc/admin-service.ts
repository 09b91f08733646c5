/**
 * The admin API (proto/admin/admin.proto, package spider_storage.admin.v1) on
 * the storage port: InspectionService (reads) and RepairService (writes).
 * Each handler only translates: it authenticates the caller (admin-auth.ts),
 * hands the request to one use case of src/admin and answers its result. The
 * use cases decide what each call needs (GetStatus answers in every phase,
 * reads once the database is connected, repairs once serving: UNAVAILABLE
 * before, naming the phase) and write the repairs' audit lines.
 */
import type { AdminHost } from "../admin/admin-host.ts";
import type { Actor } from "../admin/audit.ts";
import { cancelJobByOperator } from "../admin/cancel-job-by-operator.ts";
import { failJobWithReason } from "../admin/fail-job-with-reason.ts";
import { jobPayload } from "../admin/job-payload.ts";
import { listExecutionManagerInfos } from "../admin/list-execution-managers.ts";
import { listJobsPage } from "../admin/list-jobs.ts";
import { releaseExecutionManagerByOperator } from "../admin/release-execution-manager-by-operator.ts";
import { requeueJobByOperator } from "../admin/requeue-job-by-operator.ts";
import { resendQueueByOperator } from "../admin/resend-queue-by-operator.ts";
import { retryJobByOperator } from "../admin/retry-job-by-operator.ts";
import { runDoctorOnServer } from "../admin/run-doctor-on-server.ts";
import { runGcByOperator } from "../admin/run-gc-by-operator.ts";
import { showJob } from "../admin/show-job.ts";
import { getStatus } from "../admin/status.ts";
import { getUsage } from "../admin/usage.ts";
import { verifyByOperator } from "../admin/verify-by-operator.ts";
import { InspectionService, RepairService } from "../gen/admin/admin_pb.ts";
import { authorizeAdminCall } from "./admin-auth.ts";
import type { GrpcServer } from "./server.ts";

/** The response lists at most this many of the task indices a retry runs again (it counts them all). */
const MAX_RERUN_TASK_INDICES = 100;

export function addAdminServices(server: GrpcServer, host: AdminHost): void {
  const actorOf = (call: Parameters<typeof authorizeAdminCall>[0]): Actor => authorizeAdminCall(call, host.settings.token);

  server.addService(
    InspectionService,
    {
      getStatus: async (_request, call) => {
        actorOf(call);
        return getStatus(host);
      },
      listJobs: async (request, call) => {
        actorOf(call);
        return listJobsPage(host, request);
      },
      getJob: async (request, call) => {
        actorOf(call);
        return showJob(host, request);
      },
      getJobPayload: async (request, call) => {
        actorOf(call);
        return jobPayload(host, request);
      },
      listExecutionManagers: async (request, call) => {
        actorOf(call);
        return listExecutionManagerInfos(host, request.state);
      },
      getUsage: async (_request, call) => {
        actorOf(call);
        return getUsage(host);
      },
      runDoctor: async (_request, call) => {
        actorOf(call);
        return runDoctorOnServer(host);
      },
    },
    { alwaysServing: true },
  );

  server.addService(
    RepairService,
    {
      cancelJob: async (request, call) => cancelJobByOperator(host, actorOf(call), request),
      failJob: async (request, call) => failJobWithReason(host, actorOf(call), request),
      requeueJob: async (request, call) => requeueJobByOperator(host, actorOf(call), request),
      retryJob: async (request, call) => {
        const result = await retryJobByOperator(host, actorOf(call), request);
        return { ...result, rerunTasks: result.rerunTasks.length, rerunTaskIndices: result.rerunTasks.slice(0, MAX_RERUN_TASK_INDICES) };
      },
      resendQueue: async (request, call) => {
        const result = resendQueueByOperator(host, actorOf(call), request);
        return { enqueued: BigInt(result.enqueued), lanes: result.lanes };
      },
      releaseExecutionManager: async (request, call) => releaseExecutionManagerByOperator(host, actorOf(call), request),
      verify: async (request, call) => verifyByOperator(host, actorOf(call), request),
      runGc: async (request, call) => {
        const actor = actorOf(call);
        const result = await runGcByOperator(host, actor, {
          // Unset and 0 are the proto's "use the server's setting".
          olderThanSec: request.olderThanSec === undefined ? undefined : Number(request.olderThanSec),
          batchSize: request.batchSize === 0 ? undefined : request.batchSize,
          maxBatches: request.maxBatches,
          dryRun: request.dryRun,
          reason: request.reason,
        });
        return { deleted: BigInt(result.deleted), remaining: BigInt(result.remaining), olderThanSec: BigInt(result.olderThanSec) };
      },
    },
    { alwaysServing: true },
  );
}
