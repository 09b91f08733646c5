/**
 * How often and how soon src/db runs work again after an error that certainly
 * did not take effect (DECISIONS D8): a handful of attempts with short,
 * jittered, doubling delays — enough to ride out a deadlock or a pooled
 * connection that died, short enough that an unreachable database answers
 * UNAVAILABLE within about a second.
 */
import { backoffDelayMs, type BackoffPolicy } from "../core/backoff.ts";
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

/** 25 ms doubling, capped at 400 ms, ±50 % jitter. */
export const RETRY_BACKOFF: BackoffPolicy = { initialMs: 25, maxMs: 400, jitter: 0.5 };

/** Delay before attempt `attempt + 1`. */
export function retryDelayMs(attempt: number): number {
  return backoffDelayMs(RETRY_BACKOFF, attempt);
}
