/**
 * What restart recovery did, for logs, metrics and the admin API: totals per
 * state, quarantined rows (the first {@link MAX_LISTED_QUARANTINES} listed; all
 * of them are Failed in the database with an error message starting
 * "quarantined: "), checkpoints used and discarded, time and rate.
 */
import type { JobState } from "../core/job-state.ts";

export const MAX_LISTED_QUARANTINES = 100;

export type RecoverableState = "Ready" | "Running" | "CommitReady" | "CleanupReady";

export const RECOVERABLE_STATES: readonly RecoverableState[] = ["Running", "CommitReady", "CleanupReady", "Ready"];

export interface QuarantinedJob {
  readonly jobId: bigint;
  /** The state the row was in. */
  readonly state: JobState;
  readonly reason: string;
}

/** Progress, as given to `onProgress` after every page. */
export interface RecoveryProgress {
  /** Rows handled so far (recovered, deferred or quarantined). */
  readonly done: number;
  /** Rows to handle, counted when recovery began. */
  readonly total: number;
  readonly quarantined: number;
  readonly elapsedMs: number;
}

export interface RecoveryReport {
  /** Rows in the four recoverable states when recovery began. */
  readonly total: number;
  readonly done: number;
  /** Jobs rebuilt into the cache, per state. */
  readonly cached: Readonly<Record<RecoverableState, number>>;
  /** Valid Ready jobs left in the database until StartJob loads them. */
  readonly deferredReady: number;
  readonly quarantined: number;
  /** The first quarantined rows (at most {@link MAX_LISTED_QUARANTINES}). */
  readonly quarantinedJobs: readonly QuarantinedJob[];
  /** Tasks of Running jobs restored Succeeded from checkpoints. */
  readonly restoredTasks: number;
  /** Checkpoints deleted because they could not be used (an ancestor's missing, undecodable, …). */
  readonly discardedCheckpoints: number;
  /** Of those, how many were undecodable. */
  readonly corruptCheckpoints: number;
  readonly pages: number;
  /**
   * Jobs whose row changed while recovery paged (a write of the previous
   * holder of the lease still in flight): seen twice, missed, or ended; each
   * was re-read, so the cache matches the database.
   */
  readonly movedDuringRecovery: number;
  readonly durationMs: number;
  /** Rows per second. */
  readonly rate: number;
}
