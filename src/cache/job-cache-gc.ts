/**
 * Cache GC (spec §4.8): a terminal job stays cached for `retentionMs`
 * (default 300 s) after it ended, then leaves the cache; from then on its
 * state, outputs and error are answered from the database, with the same
 * answers (DECISIONS D5). Jobs are tracked in the order they ended, so each
 * sweep pops expired ones from the front. Non-terminal jobs are never evicted.
 */
import { isTerminal } from "../core/job-state.ts";
import type { JobCache } from "./job-cache.ts";

export interface JobCacheGcOptions {
  readonly retentionMs?: number;
  /** How often expired jobs are swept. Default: a tenth of the retention, between 10 ms and 30 s. */
  readonly intervalMs?: number;
  readonly now?: () => number;
}

export const DEFAULT_RETENTION_MS = 300_000;

export class JobCacheGc {
  private readonly cache: JobCache;
  readonly retentionMs: number;
  private readonly intervalMs: number;
  private readonly now: () => number;
  /** Parallel FIFOs: job ids and when they ended. */
  private ids: bigint[] = [];
  private times: number[] = [];
  private head = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(cache: JobCache, options: JobCacheGcOptions = {}) {
    this.cache = cache;
    this.retentionMs = options.retentionMs ?? DEFAULT_RETENTION_MS;
    this.intervalMs = options.intervalMs ?? Math.min(30_000, Math.max(10, Math.floor(this.retentionMs / 10)));
    this.now = options.now ?? (() => performance.now());
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.sweep(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Starts the retention clock of a job that just became terminal. */
  track(jobId: bigint): void {
    this.ids.push(jobId);
    this.times.push(this.now());
  }

  get pending(): number {
    return this.ids.length - this.head;
  }

  /** Evicts every tracked job whose retention has passed (age ≥ retention). Returns how many left the cache. */
  sweep(now = this.now()): number {
    let removed = 0;
    while (this.head < this.ids.length && now - this.times[this.head]! >= this.retentionMs) {
      const id = this.ids[this.head]!;
      this.head++;
      const jcb = this.cache.get(id);
      if (jcb !== undefined && isTerminal(jcb.state)) {
        this.cache.remove(id);
        removed++;
      }
    }
    if (this.head > 1024 && this.head * 2 > this.ids.length) {
      this.ids = this.ids.slice(this.head);
      this.times = this.times.slice(this.head);
      this.head = 0;
    }
    return removed;
  }
}
