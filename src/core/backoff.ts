/**
 * The one back-off of the service: every loop that waits before trying again
 * (the database at start-up, the lease, D8 retries, checkpoint flushes, the
 * session check after a lease retake) takes its delays from a
 * {@link BackoffPolicy} — capped doubling, optionally jittered — and waits
 * with {@link sleep}.
 *
 * Our own rather than p-retry or exponential-backoff: those own the loop
 * (call, catch, decide, wait), while ours decide per failure — the lease loop
 * starts its delays over once the database answers, the checkpoint writer
 * retries only some failures and bounds its wait by a shutdown deadline, D8
 * retries depend on the phase the error struck in — and neither library's
 * jitter is D8's ±50 %.
 */
import { setTimeout as wait } from "node:timers/promises";

export interface BackoffPolicy {
  /** The delay after the first failure. */
  readonly initialMs: number;
  /** Delays double after each further failure, up to this. */
  readonly maxMs: number;
  /** Fraction of the delay drawn at random either side (0.5: ±50 %). Default 0, none. */
  readonly jitter?: number;
}

/** The delay after the `failures`-th failure in a row (1 for the first). */
export function backoffDelayMs(policy: BackoffPolicy, failures: number, random: () => number = Math.random): number {
  // The exponent is bounded so a long outage never computes Infinity (or NaN for initialMs 0).
  const base = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(Math.max(failures - 1, 0), 52));
  const jitter = policy.jitter ?? 0;
  return jitter === 0 ? base : Math.round(base * (1 - jitter + 2 * jitter * random()));
}

/** A loop's failures in a row, giving the delay before its next attempt. */
export class Backoff {
  readonly policy: BackoffPolicy;
  #failures = 0;

  constructor(policy: BackoffPolicy) {
    this.policy = policy;
  }

  /** Failures counted since the last {@link reset}. */
  get failures(): number {
    return this.#failures;
  }

  /** Counts one more failure and returns the delay to wait before the next attempt. */
  next(): number {
    this.#failures++;
    return backoffDelayMs(this.policy, this.#failures);
  }

  /** The attempt succeeded (or the loop moved on): the next failure waits the initial delay again. */
  reset(): void {
    this.#failures = 0;
  }
}

/**
 * Waits `ms` milliseconds. Aborting `signal` ends the wait at once and
 * rejects with the signal's reason (what the caller aborted with, not Node's
 * generic AbortError), so a stopped loop reports why it stopped.
 */
export async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal === undefined) return wait(ms);
  try {
    await wait(ms, undefined, { signal });
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    throw error;
  }
}
