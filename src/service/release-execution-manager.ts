/**
 * The operator's `em release ID` (graphile-worker's force_unlock_workers):
 * declares an execution manager dead now instead of after the heartbeat
 * cutoff. The row becomes Dead (its next heartbeat is refused, and Spider's
 * execution manager then exits), and its live instances are evicted: their
 * tasks go back to the queue without consuming a retry, exactly as when the
 * sweep finds it silent. Already Dead: the eviction still runs (idempotent).
 */
import { isStorageError, notFound } from "../core/errors.ts";
import type { Engine } from "../cache/engine.ts";

export async function releaseExecutionManager(
  engine: Engine,
  executionManagerId: bigint,
): Promise<{ wasAlive: boolean; releasedInstances: number }> {
  let wasAlive: boolean;
  try {
    wasAlive = await engine.store.markExecutionManagerDead(executionManagerId);
  } catch (error) {
    if (isStorageError(error, "illegal_execution_manager")) throw notFound(`execution manager ${executionManagerId} not found`);
    throw error;
  }
  const releasedInstances = engine.pool.evictExecutionManagers([executionManagerId]);
  return { wasAlive, releasedInstances };
}
