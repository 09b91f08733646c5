/**
 * A write refused by the leader fence: another server took the lease after
 * this one's epoch began, so this server is deposed. Nothing was written.
 *
 * Kind "unavailable", so everything above src/db treats it as "the database
 * could not be reached, nothing was written" (classifyWriteFailure says
 * "unreachable"; gRPC clients get UNAVAILABLE and retry, reaching the new
 * leader); `fenced: true` lets the server tell it from an outage and step
 * down at once. A StorageError, so the D8 retry never runs the work again.
 */
import { StorageError } from "../../core/errors.ts";

export class FencedError extends StorageError {
  readonly fenced = true;
  /** The epoch this server wrote under, no longer current. */
  readonly epoch: bigint;

  constructor(epoch: bigint) {
    super(
      "unavailable",
      `this server's lease epoch ${epoch} is no longer current: another spider-storage has taken over; nothing was written`,
    );
    this.epoch = epoch;
  }
}

export function isFencedError(error: unknown): error is FencedError {
  return error instanceof FencedError;
}
