/**
 * The session fence of the three task-instance calls (spec §4.4): checked
 * before anything else, so an instance id from an earlier server lifetime can
 * never be confused with one of this lifetime.
 */
import { StorageError } from "../core/errors.ts";
import type { Engine } from "../cache/engine.ts";

export function checkSession(engine: Engine, sessionId: bigint): void {
  if (sessionId !== engine.sessionId) {
    throw new StorageError("stale_session", `stale session; current storage session is ${engine.sessionId}`);
  }
}
