/**
 * Fault injection by wrapping a JobStore (the approach of Temporal's
 * persistence fault injection): chosen operations fail with a chosen error,
 * without touching the wrapped store. Everything else passes through.
 */
import type { JobStore } from "../../../src/cache/job-store.ts";

type Operation = keyof JobStore;

export class FaultyStore {
  private readonly faults = new Map<string, { error: () => Error; remaining: number }>();
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
            throw fault.error();
          }
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
  }

  /** The next `times` calls of `operation` fail with `error()`. */
  failNext(operation: Operation, error: () => Error, times = 1): void {
    this.faults.set(operation, { error, remaining: times });
  }

  callsOf(operation: Operation): number {
    return this.calls.get(operation) ?? 0;
  }
}
