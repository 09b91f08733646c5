/**
 * `status`: what the server is doing — phase and readiness, session, uptime,
 * recovery progress, jobs by state (from the database), the cache, queue depth
 * per lane, live instances and execution managers, the periodic GC. Answers in
 * every phase: what is not there yet is left empty, and a database that cannot
 * be read is reported, not thrown.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import { JOB_STATES } from "../core/job-state.ts";
import { countJobsByState } from "../db/jobs/countJobsByState.ts";
import type { GetStatusResponseSchema, LaneStatusSchema } from "../gen/admin/admin_pb.ts";
import type { StorageService } from "../service/storage-service.ts";
import type { AdminHost } from "./admin-host.ts";
import { countExecutionManagersByState } from "../db/execution-managers/countExecutionManagersByState.ts";
import { queueStats } from "../service/inspect-engine.ts";
import { readLease } from "../db/lease/readLease.ts";

/** Phases in which this server holds the leader lease (D3). */
const LEADING_PHASES: ReadonlySet<string> = new Set(["migrating", "recovering", "serving", "reconnecting"]);

export async function getStatus(host: AdminHost): Promise<MessageInitShape<typeof GetStatusResponseSchema>> {
  const { settings, version } = host;
  const service = host.service;
  const response: MessageInitShape<typeof GetStatusResponseSchema> = {
    version,
    pid: process.pid,
    phase: host.phase,
    serving: host.phase === "serving",
    sessionId: host.session,
    startedAtMs: BigInt(host.startedAt),
    uptimeMs: BigInt(Math.max(0, Date.now() - host.startedAt)),
    cachedJobs: BigInt(service?.cache.size ?? 0),
    lanes: service ? laneStatuses(service) : [],
    liveTaskInstances: BigInt(service?.pool.size ?? 0),
    adminTokenRequired: settings.token !== undefined,
  };
  const recovery = host.recoveryProgress;
  if (recovery !== undefined) {
    response.recovery = {
      known: true,
      done: recovery.done,
      jobsLoaded: BigInt(recovery.jobsLoaded),
      jobsTotal: BigInt(recovery.jobsTotal),
      jobsQuarantined: BigInt(recovery.jobsQuarantined),
      elapsedMs: BigInt(Math.round(recovery.elapsedMs)),
    };
  }
  const gc = host.gcScheduler?.status();
  response.gc = {
    enabled: settings.gc.enabled,
    retentionSec: BigInt(settings.gc.retentionSec),
    intervalSec: BigInt(settings.gc.intervalSec),
    ...(gc === undefined
      ? {}
      : {
          lastRunAtMs: BigInt(gc.lastRunAt ?? 0),
          lastDeleted: BigInt(gc.lastDeleted),
          lastError: gc.lastError ?? "",
          totalDeleted: BigInt(gc.totalDeleted),
          running: gc.running,
        }),
  };
  const db = host.db;
  if (db !== undefined && host.phase !== "stopping" && host.phase !== "stopped") {
    try {
      const counts = await countJobsByState(db);
      response.jobsByState = JOB_STATES.map((state) => ({ state, count: BigInt(counts[state]) }));
      const managers = await countExecutionManagersByState(db);
      response.aliveExecutionManagers = BigInt(managers.alive);
      response.deadExecutionManagers = BigInt(managers.dead);
      const lease = await readLease(db);
      if (lease !== undefined) {
        response.leader = {
          known: true,
          thisServer: LEADING_PHASES.has(host.phase) && lease.held,
          holder: lease.holder,
          epoch: lease.epoch,
          held: lease.held,
          remainingMs: BigInt(Math.max(0, Math.round(lease.remainingMs))),
        };
      }
    } catch (error) {
      response.databaseError = error instanceof Error ? error.message : String(error);
    }
  } else {
    response.databaseError = `not connected (phase: ${host.phase})`;
  }
  return response;
}

export function laneStatuses(service: StorageService): MessageInitShape<typeof LaneStatusSchema>[] {
  return Object.entries(queueStats(service.engine)).map(([lane, stats]) => ({
    lane,
    depth: BigInt(stats.depth),
    oldestAgeMs: BigInt(Math.round(stats.oldestAgeMs)),
    waitingPollers: stats.waitingPollers,
  }));
}
