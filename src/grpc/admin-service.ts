/**
 * The admin API (proto/admin/admin.proto, package spider_storage.admin.v1) on
 * the storage port: InspectionService (reads) and RepairService (writes).
 * Each handler authenticates the caller (admin-auth.ts), calls one use case of
 * src/admin or src/service, and answers; repairs are logged with the actor and
 * the reason (src/admin/audit.ts). Both services answer in every phase:
 * GetStatus always, calls that need the database once connected, calls that
 * need the engine once serving (UNAVAILABLE before, naming the phase).
 */
import type { AdminHost } from "../admin/admin-host.ts";
import type { AdminSettings } from "../admin/admin-settings.ts";
import { auditWrite, type Actor } from "../admin/audit.ts";
import { runDoctor } from "../admin/doctor.ts";
import { runGc } from "../admin/gc.ts";
import { jobPayload } from "../admin/job-payload.ts";
import { listExecutionManagerInfos } from "../admin/list-execution-managers.ts";
import { listJobsPage } from "../admin/list-jobs.ts";
import { findJob } from "../admin/find-job.ts";
import { requireDb, requireServiceDb, requireServing } from "../admin/require-ready.ts";
import { showJob } from "../admin/show-job.ts";
import { getStatus, laneStatuses } from "../admin/status.ts";
import { getUsage } from "../admin/usage.ts";
import { verify } from "../admin/verify.ts";
import { invalidArgument } from "../core/errors.ts";
import { InspectionService, RepairService } from "../gen/admin/admin_pb.ts";
import type { Logger } from "../observability/logger.ts";
import { failJobByOperator } from "../service/fail-job-by-operator.ts";
import { releaseExecutionManager } from "../service/release-execution-manager.ts";
import { requeueJob } from "../service/requeue-job.ts";
import { retryFailedJob } from "../service/retry-failed-job.ts";
import { authorizeAdminCall } from "./admin-auth.ts";
import type { GrpcServer } from "./server.ts";

export interface AdminServiceOptions {
  readonly host: AdminHost;
  readonly settings: AdminSettings;
  readonly logger: Logger;
  readonly version: string;
}

/** Most characters of a reason kept (it may become an error message). */
const MAX_REASON_CHARS = 2000;

function reasonOf(text: string): string {
  return text.trim().slice(0, MAX_REASON_CHARS);
}

export function addAdminServices(server: GrpcServer, options: AdminServiceOptions): void {
  const { host, settings, logger } = options;
  const actorOf = (call: Parameters<typeof authorizeAdminCall>[0]): Actor => authorizeAdminCall(call, settings.token);
  const audit = (actor: Actor, action: string, reason: string, details: Record<string, unknown>) =>
    auditWrite(logger, actor, action, reason, details);

  server.addService(
    InspectionService,
    {
      getStatus: async (_request, call) => {
        actorOf(call);
        return getStatus(host, settings, options.version);
      },
      listJobs: async (request, call) => {
        actorOf(call);
        return listJobsPage(requireDb(host), host.service, request);
      },
      getJob: async (request, call) => {
        actorOf(call);
        return showJob(requireDb(host), host.service, settings.limits, request);
      },
      getJobPayload: async (request, call) => {
        actorOf(call);
        return jobPayload(requireDb(host), settings.limits, request);
      },
      listExecutionManagers: async (request, call) => {
        actorOf(call);
        return listExecutionManagerInfos(requireDb(host), host.service, request.state);
      },
      getUsage: async (_request, call) => {
        actorOf(call);
        return getUsage(requireDb(host));
      },
      runDoctor: async (_request, call) => {
        actorOf(call);
        return runDoctor(requireDb(host), { deadExecutionManagerCutoffMs: settings.deadExecutionManagerCutoffMs });
      },
    },
    { alwaysServing: true },
  );

  server.addService(
    RepairService,
    {
      cancelJob: async (request, call) => {
        const actor = actorOf(call);
        const { service, db } = requireServiceDb(host);
        const previousState = (await findJob(db, request.jobId)).state;
        const state = await service.cancelJob(request.jobId);
        audit(actor, "job cancelled", reasonOf(request.reason), { jobId: request.jobId, previousState, state });
        return { jobId: request.jobId, previousState, state };
      },
      failJob: async (request, call) => {
        const actor = actorOf(call);
        const reason = reasonOf(request.reason);
        if (reason === "") throw invalidArgument("failing a job needs a reason (--reason): it becomes the job's error message");
        const { service, db } = requireServiceDb(host);
        await findJob(db, request.jobId); // "job N not found" for an unknown id
        const result = await failJobByOperator(service.context, db, request.jobId, reason);
        audit(actor, "job failed", reason, { jobId: request.jobId, ...result });
        return { jobId: request.jobId, ...result };
      },
      requeueJob: async (request, call) => {
        const actor = actorOf(call);
        const { service, db } = requireServiceDb(host);
        await findJob(db, request.jobId);
        const result = await requeueJob(service.context, request.jobId, { releaseInstances: request.releaseInstances });
        audit(actor, "job requeued", reasonOf(request.reason), { jobId: request.jobId, releaseInstances: request.releaseInstances, ...result });
        return { jobId: request.jobId, ...result };
      },
      retryJob: async (request, call) => {
        const actor = actorOf(call);
        const { service, db } = requireServiceDb(host);
        await findJob(db, request.jobId);
        const result = await retryFailedJob(service.context, db, request.jobId);
        audit(actor, "job retried", reasonOf(request.reason), {
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
          rerunTasks: result.rerunTasks.length,
          rerunTaskIndices: result.rerunTasks.slice(0, 100),
          enqueued: result.enqueued,
        };
      },
      resendQueue: async (request, call) => {
        const actor = actorOf(call);
        const service = requireServing(host);
        const enqueued = service.refillQueue();
        audit(actor, "queue resent", reasonOf(request.reason), { enqueued });
        return { enqueued: BigInt(enqueued), lanes: laneStatuses(service) };
      },
      releaseExecutionManager: async (request, call) => {
        const actor = actorOf(call);
        const { service, db } = requireServiceDb(host);
        const result = await releaseExecutionManager(service.context, db, request.executionManagerId);
        audit(actor, "execution manager released", reasonOf(request.reason), { executionManagerId: request.executionManagerId, ...result });
        return { executionManagerId: request.executionManagerId, ...result };
      },
      verify: async (request, call) => {
        const actor = actorOf(call);
        const { service, db } = requireServiceDb(host);
        const result = await verify(service, db, { repair: request.repair });
        if (request.repair) {
          audit(actor, "verify --repair", reasonOf(request.reason), {
            disagreements: result.disagreements?.length ?? 0,
            repaired: result.repaired,
            repairs: result.disagreements?.filter((d) => d.repaired).map((d) => `${d.kind} job ${String(d.jobId)}: ${d.repair}`),
          });
        }
        return result;
      },
      runGc: async (request, call) => {
        const actor = actorOf(call);
        requireServing(host); // writes only while this server serves (and so holds the lease)
        const db = requireDb(host);
        const olderThanSec = request.olderThanSec === undefined ? settings.gc.retentionSec : Number(request.olderThanSec);
        const result = await runGc(db, {
          olderThanSec,
          batchSize: request.batchSize === 0 ? settings.gc.batchSize : request.batchSize,
          maxBatches: request.maxBatches,
          dryRun: request.dryRun,
        });
        if (!request.dryRun && result.deleted > 0) {
          audit(actor, "gc", reasonOf(request.reason), { olderThanSec, deleted: result.deleted, remaining: result.remaining });
        }
        return { deleted: BigInt(result.deleted), remaining: BigInt(result.remaining), olderThanSec: BigInt(olderThanSec) };
      },
    },
    { alwaysServing: true },
  );
}
