/**
 * The group commit of the jobs table (issue 20): RegisterJob's inserts and
 * the engine's per-job moves, gathered across concurrent requests by
 * {@link GroupCommit} and written as one statement per batch
 * (./jobs/insertJobs.ts, ./jobs/transitionJobs.ts).
 *
 * A batch of one runs the single-job statement. What a batch did not write —
 * every insert when one row named an unknown resource group (the INSERT is
 * all or nothing), the jobs a move found in another state, every move of a
 * fenced writer — is then written alone, so every caller gets the answer it
 * would have had without batching. Errors that concern the whole batch
 * (database unreachable, an outcome unknown) are every item's answer.
 */
import { canTransition, type JobState } from "../core/job-state.ts";
import type { Db } from "./connection.ts";
import { GroupCommit, settle, type RunInContext, type Settlement } from "./group-commit.ts";
import { insertJob, type NewJob } from "./jobs/insertJob.ts";
import { insertJobs } from "./jobs/insertJobs.ts";
import { transitionJobs, type BatchedMove } from "./jobs/transitionJobs.ts";

export interface GroupCommitSettings {
  /** False: one statement per request (what the bench compares against). */
  readonly enabled: boolean;
  readonly maxBatch: number;
  readonly maxInFlight: number;
  /** Carries a call's async context into the batch that writes it (the test-only fault injection; see GroupCommitOptions). */
  readonly captureContext?: () => RunInContext;
}

/** A batch's payload bytes stay below this (blobs travel hex-encoded: ~2× on the wire; max_allowed_packet is 16 MiB by default). */
const MAX_BATCH_PAYLOAD_BYTES = 1 << 20;

interface QueuedMove {
  readonly move: BatchedMove;
  /** The same move alone: its own statement, its own answer. */
  readonly alone: () => Promise<void>;
}

export class BatchedJobWrites {
  readonly #db: Db;
  readonly #settings: GroupCommitSettings;
  readonly #inserts: GroupCommit<NewJob, bigint>;
  readonly #moves = new Map<string, GroupCommit<QueuedMove, void>>();

  constructor(db: Db, settings: GroupCommitSettings) {
    this.#db = db;
    this.#settings = settings;
    this.#inserts = new GroupCommit({
      write: (jobs) => this.#writeInserts(jobs),
      maxBatch: settings.maxBatch,
      maxInFlight: settings.maxInFlight,
      maxBatchBytes: MAX_BATCH_PAYLOAD_BYTES,
      sizeOf: (job) => job.compressedTaskGraph.length + job.compressedInputs.length,
      ...(settings.captureContext && { captureContext: settings.captureContext }),
    });
  }

  insertJob(job: NewJob): Promise<bigint> {
    if (!this.#settings.enabled) return insertJob(this.#db, job);
    return this.#inserts.submit(job);
  }

  /** Moves one job `from` → `to`, batched with concurrent moves of the same kind; `alone` is the same move by itself. */
  move(from: JobState, to: JobState, move: BatchedMove, alone: () => Promise<void>): Promise<void> {
    // A move the table does not allow is refused by the single path, with its reason.
    if (!this.#settings.enabled || !canTransition(from, to, "engine")) return alone();
    const kind = `${from}>${to}`;
    let batches = this.#moves.get(kind);
    if (batches === undefined) {
      batches = new GroupCommit({
        write: (moves) => this.#writeMoves(from, to, moves),
        maxBatch: this.#settings.maxBatch,
        maxInFlight: this.#settings.maxInFlight,
        maxBatchBytes: MAX_BATCH_PAYLOAD_BYTES,
        sizeOf: (queued) => (queued.move.outputs?.length ?? 0) + (queued.move.errorMessage?.length ?? 0),
        ...(this.#settings.captureContext && { captureContext: this.#settings.captureContext }),
      });
      this.#moves.set(kind, batches);
    }
    return batches.submit({ move, alone });
  }

  /** Batches written and items carried, per kind of write (metrics, the bench). */
  stats(): Record<string, { batches: number; items: number; largestBatch: number }> {
    const result: Record<string, { batches: number; items: number; largestBatch: number }> = { insert: { ...this.#inserts.stats } };
    for (const [kind, batches] of this.#moves) result[kind] = { ...batches.stats };
    return result;
  }

  async #writeInserts(jobs: readonly NewJob[]): Promise<Settlement<bigint>[]> {
    if (jobs.length === 1) return [await settle(() => insertJob(this.#db, jobs[0]!))];
    const ids = await insertJobs(this.#db, jobs);
    if (ids !== undefined) return ids.map((value) => ({ ok: true, value }));
    return Promise.all(jobs.map((job) => settle(() => insertJob(this.#db, job))));
  }

  async #writeMoves(from: JobState, to: JobState, queued: readonly QueuedMove[]): Promise<Settlement<void>[]> {
    const moved = queued.length > 1 ? await transitionJobs(this.#db, from, to, queued.map((item) => item.move)) : new Set<bigint>();
    return Promise.all(queued.map((item) => (moved.has(item.move.jobId) ? { ok: true as const, value: undefined } : settle(item.alone))));
  }
}
