/**
 * Fault injection by wrapping a JobStore (the approach of Temporal's
 * persistence fault injection): chosen operations fail with a chosen error,
 * without touching the wrapped store — or, for a lost answer, after the
 * wrapped store did the work. Everything else passes through.
 */
import type { JobStore } from "../../../src/db/job-store.ts";
import { outcomeUnknown } from "../../../src/core/errors.ts";

type Operation = keyof JobStore;

export class FaultyStore {
  private readonly faults = new Map<string, { error: () => Error; remaining: number; after: boolean }>();
  readonly calls = new Map<string, number>();
  readonly store: JobStore;

  constructor(inner: JobStore) {
    // A Proxy keeps this wrapper in step with the interface without listing every method.
    this.store = new Proxy(inner, {
      get: (target, property, receiver) => {
        const value = Reflect.get(target, property, receiver) as unknown;
        if (typeof value !== "function" || typeof property !== "string") return value;
        return async (...args: unknown[]) => {
          this.calls.set(property, (this.calls.get(property) ?? 0) + 1);
          const fault = this.faults.get(property);
          if (fault !== undefined && fault.remaining > 0) {
            fault.remaining--;
            if (fault.after) await (value as (...a: unknown[]) => unknown).apply(target, args);
            throw fault.error();
          }
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
  }

  /** The next `times` calls of `operation` fail with `error()` (nothing reaches the wrapped store). */
  failNext(operation: Operation, error: () => Error, times = 1): void {
    this.faults.set(operation, { error, remaining: times, after: false });
  }

  /** The next call of `operation` takes effect, then its answer is lost (connection lost during COMMIT). */
  loseAnswerOfNext(operation: Operation): void {
    this.faults.set(operation, {
      error: () => outcomeUnknown(`connection lost during ${operation}; outcome unknown (injected)`),
      remaining: 1,
      after: true,
    });
  }

  /** The database is back: every pending fault is cleared. */
  heal(): void {
    this.faults.clear();
  }

  callsOf(operation: Operation): number {
    return this.calls.get(operation) ?? 0;
  }
}
