/** The two liveness errors, with Spider's texts (spec §1.4). */
import { StorageError, failedPrecondition } from "../../core/errors.ts";

/** An id that was never registered (Spider: INVALID_ARGUMENT). */
export function illegalExecutionManager(id: bigint): StorageError {
  return new StorageError("illegal_execution_manager", `execution manager ${id} is illegal`);
}

/** A dead execution manager never comes back; it must register again. */
export function executionManagerAlreadyDead(id: bigint): StorageError {
  return failedPrecondition(`execution manager ${id} is already dead`);
}
