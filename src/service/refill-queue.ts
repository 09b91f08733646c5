/**
 * Refill (DECISIONS D7): walks the job cache and enqueues whatever can take an
 * instance and has no entry yet. Run after recovery (and it opens the polls),
 * and whenever a scheduler replaces another. Never waits, so it cannot
 * deadlock. Returns how many entries were added.
 */
import type { Engine } from "../cache/engine.ts";

export function refillQueue(engine: Engine): number {
  let added = 0;
  for (const jcb of engine.cache.values()) added += jcb.refill();
  engine.flags.refilled = true;
  if (added > 0) engine.logger.info({ added }, "inbound queue refilled");
  return added;
}
