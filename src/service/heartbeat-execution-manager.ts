/**
 * UpdateExecutionManagerHeartbeat: records the heartbeat and answers the
 * session. Unknown id → "illegal_execution_manager"; a dead one →
 * "failed_precondition". A heartbeat lost to an unreachable database holds
 * off dead-manager reaping for a full cutoff (DECISIONS D6).
 */
import { isStorageError } from "../core/errors.ts";
import type { ServiceContext } from "./service-context.ts";

export async function heartbeatExecutionManager(context: ServiceContext, executionManagerId: bigint): Promise<bigint> {
  try {
    await context.store.heartbeatExecutionManager(executionManagerId);
  } catch (error) {
    if (isStorageError(error, "unavailable") || isStorageError(error, "internal")) context.pool.noteDbUnavailable();
    throw error;
  }
  return context.sessionId;
}
