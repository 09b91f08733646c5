/**
 * The bytes of payload every cached job holds together — inputs and task
 * outputs of started jobs, job outputs of committed ones — against one bound
 * (runtime.limits.max_cached_payload_bytes; issue #17 item 3). Each job
 * control block reports its own changes, so the total is known without
 * walking the cache. Registered jobs that have not started are not cached
 * (their inputs stay in the database until StartJob), so the bound covers
 * only what must be resident; StartJob and task outputs beyond it are
 * refused with UNAVAILABLE — a temporary, service-wide condition that frees
 * itself as jobs finish, unlike a per-request limit (INVALID_ARGUMENT).
 */
export const DEFAULT_MAX_CACHED_PAYLOAD_BYTES = 2 * 1024 * 1024 * 1024;

export const MAX_CACHED_PAYLOAD_BYTES_KEY = "runtime.limits.max_cached_payload_bytes";

export class PayloadBudget {
  readonly limit: number;
  #used = 0;

  constructor(limit: number = DEFAULT_MAX_CACHED_PAYLOAD_BYTES) {
    this.limit = limit;
  }

  /** Bytes held by the cached jobs now. */
  get used(): number {
    return this.#used;
  }

  /** Whether `bytes` more can be held. */
  fits(bytes: number): boolean {
    return this.#used + bytes <= this.limit;
  }

  /** Whether the cache holds more than the bound (recovery may load beyond it: it never refuses a started job). */
  get over(): boolean {
    return this.#used > this.limit;
  }

  /** A job's held bytes changed by `delta` (negative when it let go of some). */
  add(delta: number): void {
    this.#used += delta;
  }

  /** The refusal, naming the setting. */
  message(what: string, bytes: number): string {
    return `${what} (${bytes} bytes) would take the payloads held in memory above ${this.limit} bytes (${MAX_CACHED_PAYLOAD_BYTES_KEY}; ${this.#used} held now); retry when running jobs have finished`;
  }
}
