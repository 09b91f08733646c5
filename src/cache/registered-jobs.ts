/**
 * Jobs just registered, kept briefly in their validated form so that the
 * StartJob which normally follows at once builds the job from memory instead
 * of reading its row back and decoding its graph and inputs a second time
 * (issue 20: one statement and one decode less per job).
 *
 * Bounded three ways — jobs, bytes of inputs, age — and kept outside the job
 * cache and its payload budget: an entry is only a shortcut. A job not found
 * here (evicted, expired, registered before a restart, or forgotten by an
 * operator's repair) is loaded from the database as before; a job whose row
 * changed meanwhile is caught by StartJob's conditional write, which follows
 * the database.
 */
import type { TaskGraph } from "../core/task-graph.ts";
import { RenewingMap } from "../core/renewing-map.ts";

export interface RegisteredJob {
  readonly resourceGroupId: bigint;
  readonly graph: TaskGraph;
  readonly inputs: readonly Uint8Array[];
  /** Bytes of the inputs (what the bound counts). */
  readonly bytes: number;
}

export interface RegisteredJobsLimits {
  readonly maxJobs: number;
  readonly maxBytes: number;
  readonly maxAgeMs: number;
  /** Monotonic milliseconds (injected in tests). */
  readonly now?: () => number;
}

export const DEFAULT_REGISTERED_JOBS_LIMITS: RegisteredJobsLimits = { maxJobs: 4096, maxBytes: 64 * 1024 * 1024, maxAgeMs: 10_000 };

export class RegisteredJobs {
  readonly #limits: RegisteredJobsLimits;
  readonly #now: () => number;
  /** Insertion order is age order: the oldest entry is first. */
  readonly #jobs = new RenewingMap<bigint, { readonly job: RegisteredJob; readonly at: number }>();
  #bytes = 0;

  constructor(limits: RegisteredJobsLimits = DEFAULT_REGISTERED_JOBS_LIMITS) {
    this.#limits = limits;
    this.#now = limits.now ?? (() => performance.now());
  }

  get size(): number {
    return this.#jobs.size;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** Keeps `job` if it fits, evicting the oldest entries to make room. */
  keep(jobId: bigint, job: RegisteredJob): void {
    if (job.bytes > this.#limits.maxBytes || this.#limits.maxJobs === 0) return;
    const now = this.#now();
    this.#dropExpired(now);
    this.forget(jobId);
    while (this.#jobs.size >= this.#limits.maxJobs || this.#bytes + job.bytes > this.#limits.maxBytes) this.#dropOldest();
    this.#jobs.set(jobId, { job, at: now });
    this.#bytes += job.bytes;
  }

  /** The job's entry, removed; undefined when it is not kept (or too old). */
  take(jobId: bigint): RegisteredJob | undefined {
    const entry = this.#jobs.get(jobId);
    if (entry === undefined) return undefined;
    this.forget(jobId);
    return this.#now() - entry.at > this.#limits.maxAgeMs ? undefined : entry.job;
  }

  forget(jobId: bigint): void {
    const entry = this.#jobs.get(jobId);
    if (entry === undefined) return;
    this.#jobs.delete(jobId);
    this.#bytes -= entry.job.bytes;
  }

  #dropExpired(now: number): void {
    for (const [jobId, entry] of this.#jobs) {
      if (now - entry.at <= this.#limits.maxAgeMs) return;
      this.forget(jobId);
    }
  }

  #dropOldest(): void {
    const oldest = this.#jobs.keys().next();
    if (!oldest.done) this.forget(oldest.value);
  }
}
