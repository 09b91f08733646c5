/**
 * UpdateExecutionManagerHeartbeat: records the heartbeat and answers the
 * session. Unknown id → "illegal_execution_manager"; a dead one →
 * "failed_precondition". A heartbeat lost to an unreachable database holds
 * off dead-manager reaping for a full cutoff (DECISIONS D6).
 */
import { isStorageError } from "../core/errors.ts";
import type { Engine } from "../cache/engine.ts";

export async function heartbeatExecutionManager(engine: Engine, executionManagerId: bigint): Promise<bigint> {
  try {
    await engine.store.heartbeatExecutionManager(executionManagerId);
  } catch (error) {
    if (isStorageError(error, "unavailable") || isStorageError(error, "internal")) engine.pool.noteDbUnavailable();
    throw error;
  }
  return engine.sessionId;
}
