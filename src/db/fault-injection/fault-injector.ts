/**
 * Database fault injection (tests only), after Temporal's persistence fault
 * injection: reliability is tested by wrapping the storage, never by replacing
 * it. Two wrappers share one injector:
 *
 * - {@link FaultInjector.scopeCalls} wraps the JobStore: each method call is
 *   one "call" of an operation (its name), and the plan's rules decide, as the
 *   call starts, whether it gets a fault and which;
 * - `faultyPool` (faulty-pool.ts) wraps the mysql2 pool under kysely and
 *   makes the chosen fault happen at the right statement of that call, with the
 *   driver's real errors — so the db layer's retries (D8), its error
 *   classification (D5) and the engine's handling (D6) all run for real.
 *
 * Statements outside any JobStore call (start-up, migrations, recovery, the
 * lease) are never faulted. Draws come from a seeded generator; concurrent
 * calls interleave differently from run to run, so a seed reproduces the
 * draws, not necessarily the schedule.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { REAL_FAULT_KINDS, type FaultKind, type FaultPlan, type FaultRule } from "./fault-plan.ts";
import { seededRandom } from "../../core/seeded-random.ts";
import type { RunInContext } from "../group-commit.ts";

/** A fault chosen for one call, waiting for its statement. */
export interface PendingFault {
  readonly kind: FaultKind;
  readonly persistent: boolean;
  readonly applied: boolean;
  fired: boolean;
}

/** The call in progress (one JobStore method invocation). */
export interface CallState {
  readonly operation: string;
  readonly fault: PendingFault | undefined;
}

export interface InjectedFault {
  readonly operation: string;
  readonly kind: FaultKind;
  /** The statement it hit ("" for a refused connection). */
  readonly sql: string;
}

export interface FaultInjectorOptions {
  /** Told of every fault as it is injected (logs). */
  readonly onInjected?: (fault: InjectedFault) => void;
}

export class FaultInjector {
  readonly #storage = new AsyncLocalStorage<CallState>();
  readonly #onInjected: ((fault: InjectedFault) => void) | undefined;
  #rules: readonly FaultRule[] = [];
  #matched: number[] = [];
  #random: () => number = Math.random;
  #seed = 0;
  #enabled = true;
  /** Injected faults by "operation kind". */
  readonly counts = new Map<string, number>();
  /** Every call seen, by operation (faulted or not). */
  readonly calls = new Map<string, number>();
  injected = 0;

  constructor(plan: FaultPlan, options: FaultInjectorOptions = {}) {
    this.#onInjected = options.onInjected;
    this.setPlan(plan);
  }

  /** The seed in use (drawn at random when the plan has none). */
  get seed(): number {
    return this.#seed;
  }

  /** Replaces the rules (and restarts the Nth-call counters and the draws). */
  setPlan(plan: FaultPlan): void {
    this.#rules = plan.rules;
    this.#matched = plan.rules.map(() => 0);
    this.#seed = plan.seed ?? Math.floor(Math.random() * 2 ** 31);
    this.#random = seededRandom(this.#seed);
    this.#enabled = true;
  }

  /** Stops injecting (calls already picked still get their fault). */
  disable(): void {
    this.#enabled = false;
  }

  enable(): void {
    this.#enabled = true;
  }

  /** Runs `fn` as one call of `operation`; the rules pick its fault now. Nested calls join the outer one. */
  scope<T>(operation: string, fn: () => T): T {
    if (this.#storage.getStore() !== undefined) return fn();
    this.calls.set(operation, (this.calls.get(operation) ?? 0) + 1);
    return this.#storage.run({ operation, fault: this.#enabled ? this.#pick(operation) : undefined }, fn);
  }

  /**
   * Wraps an object (a JobStore) so each of its method calls runs in
   * {@link scope} under the method's name. Other properties pass through.
   */
  scopeCalls<T extends object>(target: T): T {
    return new Proxy(target, {
      get: (object, property) => {
        const value = Reflect.get(object, property, object) as unknown;
        if (typeof value !== "function" || typeof property !== "string") return value;
        const method = value as (...args: unknown[]) => unknown;
        return (...args: unknown[]) => this.scope(property, () => method.apply(object, args));
      },
    });
  }

  /** Captures the call in progress, to run later work (a group-committed batch) inside it. */
  readonly captureCall = (): RunInContext => {
    const state = this.#storage.getStore();
    return state === undefined ? (fn) => fn() : (fn) => this.#storage.run(state, fn);
  };

  /** The call in progress, if any (for the pool wrapper). */
  current(): CallState | undefined {
    return this.#storage.getStore();
  }

  /**
   * The current call's fault if it is due at this point (`due` says whether a
   * fault of its kind fires here), marking it fired unless persistent.
   */
  take(due: (fault: PendingFault) => boolean): PendingFault | undefined {
    const fault = this.#storage.getStore()?.fault;
    if (fault === undefined || (fault.fired && !fault.persistent) || !due(fault)) return undefined;
    fault.fired = true;
    return fault;
  }

  /** Records an injected fault (called by the pool wrapper as it injects one). */
  record(kind: FaultKind, sql: string): void {
    const operation = this.#storage.getStore()?.operation ?? "";
    const key = `${operation} ${kind}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    this.injected++;
    this.#onInjected?.({ operation, kind, sql });
  }

  /** Injected faults of one kind, over all operations. */
  countOf(kind: FaultKind): number {
    let total = 0;
    for (const [key, count] of this.counts) if (key.endsWith(` ${kind}`)) total += count;
    return total;
  }

  #pick(operation: string): PendingFault | undefined {
    for (let i = 0; i < this.#rules.length; i++) {
      const rule = this.#rules[i]!;
      if (rule.operations !== undefined && !rule.operations.includes(operation)) continue;
      if (rule.exclude?.includes(operation)) continue;
      const n = ++this.#matched[i]!;
      const byCount = rule.nth !== undefined && n >= rule.nth && n < rule.nth + (rule.count ?? 1);
      const byRate = rule.rate !== undefined && this.#random() < rule.rate;
      if (!byCount && !byRate) continue;
      const kinds = rule.kind === undefined ? REAL_FAULT_KINDS : typeof rule.kind === "string" ? [rule.kind] : rule.kind;
      const kind = kinds[Math.floor(this.#random() * kinds.length)]!;
      return { kind, persistent: rule.persistent ?? false, applied: rule.applied ?? true, fired: false };
    }
    return undefined;
  }
}

