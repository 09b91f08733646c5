/**
 * Operator repairs that replace a job's control block with one built afresh
 * from its database row — the database is the truth (ARCHITECTURE invariant 1).
 * Used by `jobs retry` (a Failed job back to Running), `jobs fail` (a Failed
 * job leaves the cache) and `verify --repair` (a cached state that disagrees
 * with the row, a live row that is not cached).
 *
 * - `retireCachedJob` takes a job out of the cache and forgets its live task
 *   instances. Their late reports are refused with FAILED_PRECONDITION (the
 *   instance is unknown), which Spider's execution manager answers by
 *   dropping the assignment. Queue entries of the old block may still be
 *   handed out; the registration that follows goes to whatever is cached
 *   under the job id now — nothing (refused) or the rebuilt block (checked
 *   against its own task states, so at worst a duplicate entry is refused).
 * - `reloadJob` reads the row (and, for a Running job, its checkpoints) through the store,
 *   checks and rebuilds the block exactly as restart recovery does
 *   (src/recovery's checkJob and rebuildJob: a Running job keeps every task
 *   whose checkpoint decodes and whose parents were all kept — DECISIONS D9 —
 *   except the last unfinished task, which runs again so the job's outputs
 *   are committed by the normal path; every other task runs again with its
 *   full retry budget), deletes the
 *   checkpoints it could not use (so the re-run tasks' new ones are not
 *   shadowed), then swaps blocks with no await in between, so no call sees
 *   the job missing or cached twice. Before any of that, the old block is
 *   retired (it refuses every task-instance call, stale) and the checkpoints
 *   it queued but did not write are forgotten (engine.onJobReloading): written
 *   after the reload read the checkpoints, INSERT IGNORE would keep the old
 *   run's outputs over the new run's. A terminal row is not cached (the job is
 *   answered from the database, as after the cache GC). A row that does not
 *   decode is quarantined, as recovery would.
 */
import { isTerminal, type JobState } from "../core/job-state.ts";
import { QUARANTINE_PREFIX } from "../db/jobs/quarantineJob.ts";
import { checkJob, recoveryLimits } from "../recovery/check-job.ts";
import { rebuildJob } from "../recovery/rebuild-job.ts";
import { readStoredJob } from "../recovery/stored-job.ts";
import type { Engine } from "../cache/engine.ts";

export interface ReloadedJob {
  readonly state: JobState;
  /** Whether the job is now cached (false for a terminal or quarantined row). */
  readonly cached: boolean;
  /** Regular tasks restored from their checkpoints (they do not run again). */
  readonly keptTasks: number;
  /** Indices of the regular tasks that will run (again). */
  readonly rerunTasks: number[];
  /** Queue entries added for the rebuilt block. */
  readonly enqueued: number;
  /** Set when the row could not be loaded and was quarantined. */
  readonly quarantineReason?: string;
}

/** Takes the job out of the cache and forgets its live instances. Returns whether it was cached. */
export function retireCachedJob(engine: Engine, jobId: bigint): boolean {
  engine.registeredJobs?.forget(jobId);
  const old = engine.cache.remove(jobId);
  if (old === undefined) return false;
  for (const record of old.liveInstances()) engine.pool.remove(record);
  return true;
}

export async function reloadJob(engine: Engine, jobId: bigint): Promise<ReloadedJob> {
  // Stop the old block and forget what it queued before reading the checkpoints (see the module comment).
  const old = engine.cache.get(jobId);
  await old?.retire();
  try {
    await engine.onJobReloading?.(jobId);
    return await rebuildFromRow(engine, jobId);
  } catch (error) {
    if (engine.cache.get(jobId) === old) old?.unretire(); // not replaced: it goes on
    throw error;
  }
}

async function rebuildFromRow(engine: Engine, jobId: bigint): Promise<ReloadedJob> {
  const stored = await readStoredJob(engine.store, jobId);
  const { row } = stored;
  if (isTerminal(row.state)) {
    retireCachedJob(engine, jobId);
    return { state: row.state, cached: false, keptTasks: 0, rerunTasks: [], enqueued: 0 };
  }
  const outcome = checkJob(stored, { limits: recoveryLimits(engine.limits), graphCache: engine.graphCache }, { cacheReady: true });
  if (outcome.kind !== "usable") {
    const reason = outcome.kind === "quarantine" ? outcome.reason : `job ${jobId} could not be loaded`;
    await engine.store.failJobBy(jobId, QUARANTINE_PREFIX + reason, "quarantine");
    retireCachedJob(engine, jobId);
    engine.logger.error({ jobId, reason }, "job quarantined while reloading it");
    return { state: "Failed", cached: false, keptTasks: 0, rerunTasks: [], enqueued: 0, quarantineReason: reason };
  }
  const jcb = rebuildJob(outcome.job, engine);
  if (outcome.job.unusedCheckpoints.length > 0) await engine.store.deleteCheckpoints(jobId, outcome.job.unusedCheckpoints);
  // The swap: synchronous, so no call finds the job missing or cached twice.
  retireCachedJob(engine, jobId);
  engine.cache.insert(jcb);
  const enqueued = jcb.refill();
  const rerunTasks: number[] = [];
  if (row.state === "Running") {
    for (const task of jcb.taskSnapshots()) if (task.key >= 0 && task.state !== "Succeeded") rerunTasks.push(task.key);
  }
  return { state: row.state, cached: true, keptTasks: outcome.job.restored.length, rerunTasks, enqueued };
}
