/**
 * `verify` (Conductor's verifyAndRepair): compares this server's cache with
 * its database and reports each disagreement; with `repair`, fixes it. The
 * database is the truth (ARCHITECTURE invariant 1).
 *
 * | kind | found when | repair |
 * |---|---|---|
 * | state-mismatch | a cached job's state differs from its row | rebuild the job from its row (reload-job.ts) |
 * | missing-row | a cached live job has no row | drop it from the cache |
 * | not-cached | a Running, CommitReady or CleanupReady row is not cached | load it (reload-job.ts) |
 * | outputs-missing | a CommitReady/Succeeded row has no outputs | Succeeded: copy the cache's outputs back; CommitReady: none (fail the job) |
 * | ready-not-queued | a Ready task with no live instance has no queue entry | refill the job's entries |
 * | orphaned-instance | a live instance belongs to no cached job | forget it |
 * | dead-manager-instance | a live instance's execution manager is Dead in the database | evict that manager's instances |
 *
 * Everything moves while this runs, so a candidate is reported only if it is
 * still there when checked again after a short pause. A ready-not-queued task
 * is also what a scheduler holds between its poll and the execution manager's
 * registration; one that stays so is what a lost scheduler leaves behind.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { JobControlBlock } from "../cache/job-control-block.ts";
import { taskIdOfKey } from "../core/task-key.ts";
import { formatTaskId } from "../core/ids.ts";
import { isTerminal, type JobState } from "../core/job-state.ts";
import type { Db } from "../db/connection.ts";
import { listJobsByState } from "../db/jobs/listJobsByState.ts";
import type { DisagreementSchema, VerifyResponseSchema } from "../gen/admin/admin_pb.ts";
import type { InstanceRecord } from "../instances/instance-record.ts";
import { reloadJob, retireCachedJob } from "../service/reload-job.ts";
import type { StorageService } from "../service/storage-service.ts";
import { deadExecutionManagersAmong } from "../db/execution-managers/deadExecutionManagersAmong.ts";
import { jobStatesByIds, type JobStateRow } from "../db/jobs/jobStatesByIds.ts";
import { restoreJobOutputs } from "../db/jobs/restoreJobOutputs.ts";

type Disagreement = MessageInitShape<typeof DisagreementSchema>;

interface Candidate {
  readonly found: Disagreement;
  /** Looks again; undefined when the disagreement is gone. */
  recheck(): Promise<Disagreement | undefined>;
  /** Fixes it; returns what was done. */
  repair(): Promise<string>;
  /** For dead-manager-instance: the manager (one eviction repairs all its instances). */
  readonly executionManagerId?: bigint;
}

export interface VerifyOptions {
  readonly repair: boolean;
  /** Pause before the second look. Default 200 ms. */
  readonly settleMs?: number;
}

const PAGE = 1000;
/** The states in which a job must be cached, because the server drives it. */
const DRIVEN_STATES: readonly JobState[] = ["Running", "CommitReady", "CleanupReady"];
const MAX_TASKS_NAMED = 10;

export async function verify(service: StorageService, db: Db, options: VerifyOptions): Promise<MessageInitShape<typeof VerifyResponseSchema>> {
  const context = service.engine;
  const candidates: Candidate[] = [];

  // 1. Cached jobs against their rows.
  const cached = [...service.cache.values()];
  const rows = await jobStatesByIds(db, cached.map((jcb) => jcb.jobId));
  for (const jcb of cached) {
    const found = compareJob(jcb, rows.get(jcb.jobId));
    if (found === undefined) continue;
    candidates.push({
      found,
      recheck: async () => {
        const now = service.cache.get(jcb.jobId);
        if (now === undefined) return undefined;
        return compareJob(now, (await jobStatesByIds(db, [jcb.jobId])).get(jcb.jobId));
      },
      repair: async () => {
        const current = service.cache.get(jcb.jobId);
        if (found.kind === "missing-row") {
          retireCachedJob(context, jcb.jobId);
          return "dropped from the cache";
        }
        if (found.kind === "outputs-missing") {
          if (current?.state === "Succeeded" && (await restoreJobOutputs(db, jcb.jobId, current.outputs()))) return "outputs copied from the cache";
          return "not repaired: the outputs exist only in memory until the commit task runs; fail the job if it cannot";
        }
        const reloaded = await reloadJob(context, jcb.jobId);
        return reloaded.cached ? `rebuilt from the row (${reloaded.state})` : `left the cache (${reloaded.state})`;
      },
    });
  }

  // 2. Live rows that are not cached. Not Ready ones: recovery leaves never-started jobs in the
  // database until StartJob or CancelJob loads them (src/recovery/ready-job-loader.ts).
  let databaseJobsChecked = 0;
  for (const state of DRIVEN_STATES) {
    for (let afterId = 0n; ; ) {
      const page = await listJobsByState(db, { state, afterId, limit: PAGE });
      databaseJobsChecked += page.length;
      for (const row of page) {
        if (service.cache.get(row.id) !== undefined) continue;
        const found: Disagreement = {
          kind: "not-cached",
          jobId: row.id,
          database: row.state,
          cache: "absent",
          message: `job ${row.id} is ${row.state} in the database but not in the cache: nobody drives it`,
          repair: "load it into the cache",
        };
        candidates.push({
          found,
          recheck: async () => {
            if (service.cache.get(row.id) !== undefined) return undefined;
            const now = (await jobStatesByIds(db, [row.id])).get(row.id);
            return now === undefined || !DRIVEN_STATES.includes(now.state) ? undefined : { ...found, database: now.state };
          },
          repair: async () => {
            const reloaded = await reloadJob(context, row.id);
            return reloaded.cached ? `loaded (${reloaded.state}, ${reloaded.enqueued} task(s) enqueued)` : `not loaded: ${reloaded.quarantineReason ?? reloaded.state}`;
          },
        });
      }
      if (page.length < PAGE) break;
      afterId = page[page.length - 1]!.id;
    }
  }

  // 3. Ready work without a queue entry.
  for (const jcb of cached) {
    if (isTerminal(jcb.state) || readyNotQueued(jcb).length === 0) continue;
    const describe = (keys: number[]): Disagreement => ({
      kind: "ready-not-queued",
      jobId: jcb.jobId,
      task: keys.slice(0, MAX_TASKS_NAMED).map((key) => formatTaskId(taskIdOfKey(key))).join(",") + (keys.length > MAX_TASKS_NAMED ? ",…" : ""),
      cache: `${keys.length} ready task(s) not queued`,
      message: `job ${jcb.jobId}: ${keys.length} ready task(s) have no queue entry and no instance (a scheduler may have lost them)`,
      repair: "re-enqueue them (as `jobs requeue`)",
    });
    candidates.push({
      found: describe(readyNotQueued(jcb)),
      recheck: async () => {
        const now = service.cache.get(jcb.jobId);
        const keys = now === jcb ? readyNotQueued(jcb) : [];
        return keys.length === 0 ? undefined : describe(keys);
      },
      repair: async () => `${jcb.refill()} task(s) enqueued`,
    });
  }

  // 4. Live instances of jobs that are not cached, or of dead execution managers.
  const instances = [...service.pool.liveInstances()];
  const dead = await deadExecutionManagersAmong(db, [...new Set(instances.map((record) => record.executionManagerId))]);
  for (const record of instances) {
    const found = compareInstance(service, record, dead);
    if (found === undefined) continue;
    candidates.push({
      found,
      executionManagerId: record.executionManagerId,
      recheck: async () => (record.live ? compareInstance(service, record, dead) : undefined),
      repair: async () => {
        if (found.kind === "orphaned-instance") {
          service.pool.remove(record);
          return "forgotten";
        }
        return `${service.pool.evictExecutionManagers([record.executionManagerId])} instance(s) evicted`;
      },
    });
  }

  // Second look, then repairs.
  if (candidates.length > 0) await new Promise((resolve) => setTimeout(resolve, options.settleMs ?? 200));
  const disagreements: Disagreement[] = [];
  let repaired = 0;
  const evictedManagers = new Set<bigint>();
  for (const candidate of candidates) {
    const still = await candidate.recheck();
    if (still === undefined) continue;
    if (options.repair) {
      if (still.kind === "dead-manager-instance") {
        const manager = candidate.executionManagerId!;
        if (evictedManagers.has(manager)) continue; // one eviction took every instance of that manager
        evictedManagers.add(manager);
      }
      try {
        still.repair = await candidate.repair();
        still.repaired = !still.repair.startsWith("not ");
      } catch (error) {
        still.repair = `repair failed: ${error instanceof Error ? error.message : String(error)}`;
        still.repaired = false;
      }
      if (still.repaired) repaired++;
    }
    disagreements.push(still);
  }
  return { cachedJobsChecked: BigInt(cached.length), databaseJobsChecked: BigInt(databaseJobsChecked), disagreements, repaired: BigInt(repaired) };
}

function compareJob(jcb: JobControlBlock, row: JobStateRow | undefined): Disagreement | undefined {
  const base = { jobId: jcb.jobId, cache: jcb.state };
  if (row === undefined) {
    if (isTerminal(jcb.state)) return undefined; // deleted by GC while still cached: harmless
    return {
      ...base,
      kind: "missing-row",
      database: "absent",
      message: `job ${jcb.jobId} is ${jcb.state} in the cache but has no row`,
      repair: "drop it from the cache",
    };
  }
  if (row.state !== jcb.state) {
    return {
      ...base,
      kind: "state-mismatch",
      database: row.state,
      message: `job ${jcb.jobId} is ${jcb.state} in the cache but ${row.state} in the database`,
      repair: "rebuild it from its row",
    };
  }
  if ((row.state === "CommitReady" || row.state === "Succeeded") && !row.hasOutputs) {
    return {
      ...base,
      kind: "outputs-missing",
      database: `${row.state} without outputs`,
      message: `job ${jcb.jobId} is ${row.state} but its row has no outputs`,
      repair: row.state === "Succeeded" ? "copy the outputs from the cache" : "none (fail the job)",
    };
  }
  return undefined;
}

function readyNotQueued(jcb: JobControlBlock): number[] {
  const keys: number[] = [];
  for (const task of jcb.taskSnapshots()) {
    if (task.state === "Ready" && !task.queued && task.liveInstances === 0 && jcb.canAcceptInstance(task.key)) keys.push(task.key);
  }
  return keys;
}

function compareInstance(service: StorageService, record: InstanceRecord, dead: ReadonlySet<bigint>): Disagreement | undefined {
  const base = {
    jobId: record.host.jobId,
    task: formatTaskId(taskIdOfKey(record.key)),
    cache: `instance ${record.id} on execution manager ${record.executionManagerId}`,
  };
  if (service.cache.get(record.host.jobId) !== record.host) {
    return {
      ...base,
      kind: "orphaned-instance",
      database: "",
      message: `task instance ${record.id} belongs to no cached job`,
      repair: "forget it",
    };
  }
  if (dead.has(record.executionManagerId)) {
    return {
      ...base,
      kind: "dead-manager-instance",
      database: `execution manager ${record.executionManagerId} Dead`,
      message: `task instance ${record.id} runs on execution manager ${record.executionManagerId}, which is Dead`,
      repair: "evict that manager's instances (their tasks are re-enqueued)",
    };
  }
  return undefined;
}
