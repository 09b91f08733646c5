/**
 * RegisterScheduler (spec §4.6): one scheduler at a time; registrations are
 * serialised. A scheduler replacing another (any registration after the first
 * of this process) triggers a refill of the inbound queue, because the
 * previous one may have taken entries it will never dispatch; the first one
 * after start-up does not (the start-up refill already ran).
 */
import { invalidArgument } from "../core/errors.ts";
import { hostFits, MAX_SCHEDULER_HOST_CHARS } from "../db/schedulers/registerScheduler.ts";
import { refillQueue } from "./refill-queue.ts";
import type { Engine } from "../cache/engine.ts";

export interface SchedulerRegistration {
  readonly schedulerId: bigint;
  readonly sessionId: bigint;
}

export async function registerScheduler(engine: Engine, host: string, port: number): Promise<SchedulerRegistration> {
  if (host === "") throw invalidArgument("host must not be empty");
  // Before anything copies it (the database column holds 255 characters).
  if (!hostFits(host)) throw invalidArgument(`host is longer than ${MAX_SCHEDULER_HOST_CHARS} characters (${host.length} UTF-16 units)`);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw invalidArgument(`port does not fit in \`u16\`: ${port}`);
  return engine.flags.schedulerMutex.run(async () => {
    const schedulerId = await engine.store.registerScheduler(host, port);
    if (engine.flags.schedulerRegistered) {
      const added = refillQueue(engine);
      engine.logger.info({ schedulerId, added }, "a scheduler replaced another: ready work resent");
    }
    engine.flags.schedulerRegistered = true;
    return { schedulerId, sessionId: engine.sessionId };
  });
}
