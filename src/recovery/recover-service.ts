/**
 * Restart recovery as the server runs it (DECISIONS D2: after the session is
 * allocated, before the refill): the settings from `runtime.recovery.*`, the
 * engine as the sink (its cache filled), the test-only page delay from the
 * environment (test-hooks.ts).
 */
import type { Engine } from "../cache/engine.ts";
import type { Db } from "../db/connection.ts";
import type { Logger } from "../observability/logger.ts";
import { recoverJobs } from "./recover-jobs.ts";
import type { RecoveryReport } from "./recovery-report.ts";
import { RECOVERY_PAGE_DELAY_ENV, testDelayMs } from "./test-hooks.ts";

/** The configuration's runtime.recovery section (src/config/schema.ts). */
export interface RecoverySettings {
  readonly page_size: number;
  readonly page_bytes: number;
  readonly concurrency: number;
}

export interface RecoverServiceOptions {
  readonly onProgress?: (done: number, total: number, quarantined: number) => void;
  /** After every page: its rows and bytes of blobs (metrics). */
  readonly onPage?: (rows: number, bytes: number) => void;
  readonly signal?: AbortSignal;
}

export function recoverService(
  engine: Engine,
  db: Db,
  settings: RecoverySettings,
  logger: Logger,
  options: RecoverServiceOptions = {},
): Promise<RecoveryReport> {
  const pageDelayMs = testDelayMs(RECOVERY_PAGE_DELAY_ENV);
  if (pageDelayMs > 0) logger.warn({ pageDelayMs }, `${RECOVERY_PAGE_DELAY_ENV} is set: recovery sleeps after each page (tests only)`);
  return recoverJobs({
    db,
    sink: { fill: engine },
    pageSize: settings.page_size,
    pageBytes: settings.page_bytes,
    readAhead: settings.concurrency,
    logger,
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.onPage ? { onPage: options.onPage } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(pageDelayMs > 0 ? { pageDelayMs } : {}),
  });
}
