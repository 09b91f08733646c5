/**
 * CancelJob (DECISIONS D4, D5): Ready → Cancelled; Running or CommitReady →
 * CleanupReady (the cleanup task is enqueued) or Cancelled. A job already
 * CleanupReady or terminal answers its state, OK — the same whether it is
 * still cached or has left the cache.
 */
import { isTerminal, type JobState } from "../core/job-state.ts";
import { unavailable } from "../core/errors.ts";
import type { ServiceContext } from "./service-context.ts";

export async function cancelJob(context: ServiceContext, jobId: bigint): Promise<JobState> {
  const jcb = context.cache.get(jobId);
  if (jcb !== undefined) return jcb.cancel();
  const state = await context.store.getJobState(jobId); // "not_found" for an unknown job
  if (state === "CleanupReady" || isTerminal(state)) return state;
  // Every live job is cached once recovery is done; this one is not loaded yet.
  throw unavailable(`job ${jobId} is not loaded yet; retry`);
}
