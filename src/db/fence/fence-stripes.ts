/**
 * The leader fence's stripes (migrations/0007_create_leader_fence.ts seeds
 * exactly this many rows). A fenced write bumps one stripe row; a takeover
 * rewrites them all. Stripes only spread the row locks of concurrent writes:
 * any one of them conflicts with a takeover.
 */
export const FENCE_STRIPES = 64;

/** The stripe of writes that concern no one job (declaring execution managers dead). */
export const NON_JOB_FENCE_STRIPE = 0;

/** The stripe a job's writes bump: consecutive ids land on different rows. */
export function fenceStripeOfJob(jobId: bigint): number {
  return Number(jobId % BigInt(FENCE_STRIPES));
}
