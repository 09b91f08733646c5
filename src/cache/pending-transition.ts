/**
 * What a job control block holds while the database may not have what memory
 * says (issue #16 B, DECISIONS D6 as amended): the "unsettled" mark, which
 * makes the job settle before it acts on anything, and the job transition a
 * report asked for that is not confirmed yet. The transition's bytes count
 * against the reconciler's bound on kept results; the reconciler retries
 * unsettled jobs in the background.
 */
import type { JobState } from "../core/job-state.ts";
import type { JobEngine } from "./job-engine.ts";
import type { Reconcilable } from "./job-reconciler.ts";

/**
 * A job transition a report asked for, not yet confirmed by the database:
 * kept while the database is unreachable or the outcome unknown, and written
 * again (repeating is safe: the store refuses it once the job has left `from`).
 */
export interface PendingTransition {
  readonly from: JobState;
  readonly target: JobState;
  /** The task whose report asked for it. */
  readonly key: number;
  readonly write: () => Promise<unknown>;
  /** Memory's share, once the database has it. */
  readonly apply: () => void;
  /** Memory's share taken back, when it will never be written. */
  readonly undo: () => void;
  /** Bytes held for it, against the reconciler's bound. */
  readonly bytes: number;
  /** Whether the database may already have it (an unknown outcome), or certainly does not (unreachable). */
  unknown: boolean;
}

export class Settlement {
  /** The database may not have what memory says (a failed or unknown write): settle before acting. */
  unsettled = false;
  /** The kept transition of an unsettled job, if any. */
  pending: PendingTransition | null = null;
  private readonly job: Reconcilable;
  private readonly engine: JobEngine;

  constructor(job: Reconcilable, engine: JobEngine) {
    this.job = job;
    this.engine = engine;
  }

  /** Whether the kept transition certainly did not reach the database: memory's state is still the database's. */
  get certainlyNotWritten(): boolean {
    return this.unsettled && this.pending !== null && !this.pending.unknown;
  }

  /** Holds a transition to write later; false when the reconciler's byte bound says no (unless forced). */
  keep(t: PendingTransition, force: boolean): boolean {
    const reconciler = this.engine.reconciler;
    if (reconciler === undefined ? !force : !reconciler.reserve(t.bytes, force)) return false;
    this.pending = t;
    this.markUnsettled();
    return true;
  }

  markUnsettled(): void {
    this.unsettled = true;
    this.engine.reconciler?.add(this.job);
  }

  /** The database confirmed memory (or memory followed it): the kept transition, if any, is let go. */
  markSettled(): void {
    if (this.pending !== null) this.engine.reconciler?.release(this.pending.bytes);
    this.pending = null;
    this.unsettled = false;
  }
}
