/**
 * Tells the server when the leader fence refused one of its writes: another
 * spider-storage took over after this one's session began (DECISIONS D3,
 * fencing), so this one must stop at once rather than keep answering from a
 * cache the database no longer agrees with. Wraps the job store every use
 * case, the checkpoint writer and the instance pool write through; a refused
 * call still fails as it would (UNAVAILABLE: nothing was written).
 */
import type { JobStore } from "../db/job-store.ts";
import { isFencedError, type FencedError } from "../db/fence/fenced-error.ts";

export function watchFence(store: JobStore, onFenced: (error: FencedError) => void): JobStore {
  return new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        const result = (value as (...a: unknown[]) => unknown).apply(target, args);
        if (!(result instanceof Promise)) return result;
        return result.catch((error: unknown) => {
          if (isFencedError(error)) onFenced(error);
          throw error;
        });
      };
    },
  });
}
