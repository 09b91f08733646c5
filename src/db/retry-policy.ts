/**
 * How often and how soon src/db runs work again after an error that certainly
 * did not take effect (DECISIONS D8): a handful of attempts with short,
 * jittered, doubling delays — enough to ride out a deadlock or a pooled
 * connection that died, short enough that an unreachable database answers
 * UNAVAILABLE within about a second.
 */
import type { DbErrorClass } from "./db-errors.ts";

export const DEFAULT_MAX_ATTEMPTS = 5;

/** Told before each retry; for logs and metrics. */
export type RetryListener = (info: {
  readonly operation: string;
  readonly attempt: number;
  readonly errorClass: DbErrorClass;
  readonly error: unknown;
}) => void;

const listeners = new Set<RetryListener>();

/**
 * Subscribes to every retry of every operation in the process (metrics, logs,
 * tests that must see none). Returns the unsubscribe function.
 */
export function addRetryListener(listener: RetryListener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Tells the call's own listener, then the process-wide ones. */
export function reportRetry(options: RetryOptions, info: Parameters<RetryListener>[0]): void {
  options.onRetry?.(info);
  for (const listener of listeners) listener(info);
}

export interface RetryOptions {
  /** Attempts in all, the first included. Default {@link DEFAULT_MAX_ATTEMPTS}. */
  readonly maxAttempts?: number;
  readonly onRetry?: RetryListener;
}

/** Delay before attempt `attempt + 1`: 25 ms doubling, capped at 400 ms, ±50 % jitter. */
export function retryDelayMs(attempt: number): number {
  const base = Math.min(400, 25 * 2 ** (attempt - 1));
  return Math.round(base * (0.5 + Math.random()));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
