/**
 * What the serve process does with a failure nothing handled — always a bug.
 *
 * - An unhandled promise rejection is logged with its stack, counted in
 *   `spider_storage_unhandled_rejections_total`, and the server keeps serving.
 *   Node's default would end the process, and with it every job in flight, for
 *   what is usually one lost background promise (a timer's write, a flush):
 *   the state machine's own errors are handled where they happen, so a stray
 *   rejection does not leave shared state half-changed.
 * - An uncaught exception is logged and the process exits with code 1. The
 *   throw unwound a stack in the middle of a synchronous change to shared
 *   state (the cache, the queue), which may now be inconsistent; a supervisor
 *   restarting a clean process recovers from the database (DECISIONS D2), the
 *   source of truth. An embedded mariadbd is asked to stop on exit.
 */
import type { Logger } from "../observability/logger.ts";

/** Longest wait for the log to reach stderr before exiting after an uncaught exception. */
const FLUSH_BEFORE_EXIT_MS = 1_000;

export function installProcessFailurePolicy(logger: Logger, counter: { unhandledRejection(): void }): void {
  process.on("unhandledRejection", (reason) => {
    counter.unhandledRejection();
    logger.error({ err: reason }, "unhandled promise rejection (a bug): logged and counted; the server keeps serving");
  });
  process.on("uncaughtException", (error, origin) => {
    logger.fatal({ err: error, origin }, "uncaught exception (a bug): exiting with code 1 so that a supervisor restarts a clean process");
    process.exitCode = 1;
    setTimeout(() => process.exit(1), FLUSH_BEFORE_EXIT_MS).unref();
    logger.flush(() => process.exit(1));
  });
}
