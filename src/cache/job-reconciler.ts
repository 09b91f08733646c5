/**
 * The jobs whose cached state the database has not confirmed (issue #16 B,
 * DECISIONS D6 as amended): a job transition whose write failed because the
 * database was unreachable (its result is kept, to be written when the
 * database is back), or whose outcome is unknown (connection lost during
 * COMMIT). Each such job control block re-reads or re-writes before it acts
 * on anything; this retries them in the background with a doubling delay, so
 * a job nobody touches still settles once the database answers.
 *
 * It also counts the bytes of results kept this way (job outputs, error
 * messages), bounded like the checkpoint backlog: beyond the bound a result
 * is not kept and its task runs again (D6 as first written).
 */
import type { Logger } from "../observability/logger.ts";

/** What one attempt to settle a job found. */
export type ReconcileResult = "settled" | "unsettled" | "unreachable";

/** A job that can try to settle with the database. */
export interface Reconcilable {
  readonly jobId: bigint;
  reconcile(): Promise<ReconcileResult>;
}

export const DEFAULT_MAX_KEPT_RESULT_BYTES = 64 * 1024 * 1024;

export interface JobReconcilerOptions {
  /** Most bytes of kept results (runtime.limits.max_kept_result_bytes). */
  readonly maxKeptBytes?: number;
  /** First delay before a background pass; doubles while jobs stay unsettled. Default 100 ms. */
  readonly minDelayMs?: number;
  /** Default 5 s. */
  readonly maxDelayMs?: number;
  readonly logger: Logger;
}

export class JobReconciler {
  readonly #jobs = new Set<Reconcilable>();
  readonly #maxKeptBytes: number;
  readonly #minDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #logger: Logger;
  #keptBytes = 0;
  #delayMs: number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #pass: Promise<number> | undefined;
  #started = false;

  constructor(options: JobReconcilerOptions) {
    this.#maxKeptBytes = options.maxKeptBytes ?? DEFAULT_MAX_KEPT_RESULT_BYTES;
    this.#minDelayMs = options.minDelayMs ?? 100;
    this.#maxDelayMs = options.maxDelayMs ?? 5_000;
    this.#delayMs = this.#minDelayMs;
    this.#logger = options.logger;
  }

  /** Jobs waiting to settle. */
  get size(): number {
    return this.#jobs.size;
  }

  /** Bytes of results kept for writing. */
  get keptBytes(): number {
    return this.#keptBytes;
  }

  /** Takes `bytes` of the budget for a kept result; false (nothing taken) when it would go over. */
  reserve(bytes: number, force = false): boolean {
    if (!force && this.#keptBytes + bytes > this.#maxKeptBytes) return false;
    this.#keptBytes += bytes;
    return true;
  }

  release(bytes: number): void {
    this.#keptBytes = Math.max(0, this.#keptBytes - bytes);
  }

  /** A job became unsettled: retry it in the background until it settles. */
  add(job: Reconcilable): void {
    this.#jobs.add(job);
    this.#schedule();
  }

  start(): void {
    this.#started = true;
    this.#schedule();
  }

  stop(): void {
    this.#started = false;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** One pass over the unsettled jobs (also the tests' way to drive it). Returns how many are still unsettled. */
  reconcileAll(): Promise<number> {
    this.#pass ??= this.#runPass().finally(() => {
      this.#pass = undefined;
    });
    return this.#pass;
  }

  async #runPass(): Promise<number> {
    for (const job of [...this.#jobs]) {
      let result: ReconcileResult = "unsettled";
      try {
        result = await job.reconcile();
      } catch (error) {
        this.#logger.error({ err: error, jobId: job.jobId }, "reconciling a job with the database failed");
      }
      if (result === "settled") this.#jobs.delete(job);
      if (result === "unreachable") break; // the others would only wait for the same outage
    }
    return this.#jobs.size;
  }

  #schedule(): void {
    if (!this.#started || this.#timer !== undefined || this.#jobs.size === 0) return;
    this.#timer = setTimeout(() => {
      void this.reconcileAll().then((left) => {
        this.#timer = undefined;
        this.#delayMs = left === 0 ? this.#minDelayMs : Math.min(this.#maxDelayMs, this.#delayMs * 2);
        this.#schedule();
      });
    }, this.#delayMs);
    this.#timer.unref?.();
  }
}
