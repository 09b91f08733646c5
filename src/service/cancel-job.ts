/**
 * CancelJob (DECISIONS D4, D5): Ready → Cancelled; Running or CommitReady →
 * CleanupReady (the cleanup task is enqueued) or Cancelled. A job already
 * CleanupReady or terminal answers its state, OK — the same whether it is
 * still cached or has left the cache. A Ready job that is not cached
 * (recovery leaves those in the database) is loaded first.
 */
import { isTerminal, type JobState } from "../core/job-state.ts";
import { unavailable } from "../core/errors.ts";
import type { Engine } from "../cache/engine.ts";

export async function cancelJob(engine: Engine, jobId: bigint): Promise<JobState> {
  let jcb = engine.cache.get(jobId);
  if (jcb === undefined) {
    let state = await engine.store.getJobState(jobId); // "not_found" for an unknown job
    if (state === "Ready" && engine.loadReadyJob !== undefined) {
      jcb = await engine.loadReadyJob(jobId);
      if (jcb === undefined) state = await engine.store.getJobState(jobId); // quarantined or changed meanwhile
    }
    if (jcb === undefined) {
      if (state === "CleanupReady" || isTerminal(state)) return state;
      // Every Running, CommitReady and CleanupReady job is cached once recovery is done.
      throw unavailable(`job ${jobId} is not loaded yet; retry`);
    }
  }
  const state = await jcb.cancel();
  engine.logger.info({ jobId, state }, "job cancel requested");
  return state;
}
