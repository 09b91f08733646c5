/**
 * TEST-ONLY delays read from the environment, so crash and recovery tests
 * can SIGKILL the real server at a chosen moment. Never set them in
 * production; unset (or 0) they change nothing. They use the
 * `SPIDER_STORAGE_TEST_` prefix, which the configuration loader ignores.
 *
 * - `SPIDER_STORAGE_TEST_RECOVERY_PAGE_DELAY_MS`: restart recovery sleeps this
 *   long after each page (makes recovery slow enough to observe or kill).
 * - `SPIDER_STORAGE_TEST_CHECKPOINT_FLUSH_DELAY_MS`: the checkpoint writer
 *   writes half of each batch, logs "checkpoint flush half-written", sleeps
 *   this long, then writes the other half (a kill lands mid-flush).
 */
export const RECOVERY_PAGE_DELAY_ENV = "SPIDER_STORAGE_TEST_RECOVERY_PAGE_DELAY_MS";
export const CHECKPOINT_FLUSH_DELAY_ENV = "SPIDER_STORAGE_TEST_CHECKPOINT_FLUSH_DELAY_MS";

/** A non-negative integer from the environment, or 0. */
export function testDelayMs(name: string, env: NodeJS.ProcessEnv = process.env): number {
  const value = Number(env[name] ?? "0");
  return Number.isSafeInteger(value) && value > 0 ? value : 0;
}
