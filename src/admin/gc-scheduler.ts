/**
 * The server's periodic terminal-job GC (runtime.gc: on by default, 7-day
 * retention, hourly). Runs never overlap; the first runs one interval after
 * start (or at once with `runNow`). A failed run is logged and retried at the
 * next interval. `stop` waits for a run in progress, so the pool can close
 * after it.
 */
import type { Db } from "../db/connection.ts";
import type { Logger } from "../observability/logger.ts";
import type { GcSettings } from "./admin-settings.ts";
import { runGc } from "./gc.ts";

export interface GcSchedulerStatus {
  readonly running: boolean;
  /** Wall-clock ms of the last finished run. */
  readonly lastRunAt: number | undefined;
  readonly lastDeleted: number;
  readonly lastError: string | undefined;
  readonly totalDeleted: number;
}

export class GcScheduler {
  readonly #db: Db;
  readonly #settings: GcSettings;
  readonly #logger: Logger;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<number> | undefined;
  #stopped = false;
  #lastRunAt: number | undefined;
  #lastDeleted = 0;
  #lastError: string | undefined;
  #totalDeleted = 0;

  constructor(options: { db: Db; settings: GcSettings; logger: Logger }) {
    this.#db = options.db;
    this.#settings = options.settings;
    this.#logger = options.logger;
  }

  start(): void {
    if (!this.#settings.enabled || this.#timer !== undefined || this.#stopped) return;
    this.#schedule();
    this.#logger.info(
      { retentionSec: this.#settings.retentionSec, intervalSec: this.#settings.intervalSec },
      "terminal-job GC scheduled",
    );
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running?.catch(() => undefined);
  }

  /** Runs now (or joins the run in progress); returns how many jobs were deleted. */
  runNow(): Promise<number> {
    this.#running ??= this.#run().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  status(): GcSchedulerStatus {
    return {
      running: this.#running !== undefined,
      lastRunAt: this.#lastRunAt,
      lastDeleted: this.#lastDeleted,
      lastError: this.#lastError,
      totalDeleted: this.#totalDeleted,
    };
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.runNow().finally(() => this.#schedule());
    }, this.#settings.intervalSec * 1000);
    this.#timer.unref();
  }

  async #run(): Promise<number> {
    const started = performance.now();
    try {
      const { deleted } = await runGc(this.#db, {
        olderThanSec: this.#settings.retentionSec,
        batchSize: this.#settings.batchSize,
      });
      this.#lastDeleted = deleted;
      this.#lastError = undefined;
      this.#totalDeleted += deleted;
      const details = { deleted, retentionSec: this.#settings.retentionSec, durationMs: Math.round(performance.now() - started) };
      if (deleted > 0) this.#logger.info(details, "terminal-job GC: deleted expired jobs");
      else this.#logger.debug(details, "terminal-job GC: nothing to delete");
      return deleted;
    } catch (error) {
      this.#lastError = error instanceof Error ? error.message : String(error);
      this.#logger.warn({ err: error }, "terminal-job GC failed; will retry at the next interval");
      return 0;
    } finally {
      this.#lastRunAt = Date.now();
    }
  }
}
