/**
 * The group-commit checkpoint writer (DECISIONS D9): the outputs of every
 * regular task that succeeds are queued here (through the engine's
 * onTaskSucceeded hook) and written to `task_checkpoints` in batches, so a
 * restart resumes Running jobs instead of re-running every task.
 *
 * - Never blocks dispatch: `enqueue` is synchronous and O(1); the task's
 *   children were released before it is called.
 * - Order: one flush at a time, each taking the oldest entries first, so a
 *   checkpoint is never durable before the checkpoints of the tasks that
 *   succeeded before it — in particular its parents'. Recovery relies on
 *   that (a checkpoint counts only if its ancestors' do).
 * - Group commit: a flush starts `flushIntervalMs` after the first entry
 *   waiting, or at once when `maxBatch` entries wait; entries arriving during
 *   a flush go in the next one, which starts as soon as it ends.
 * - Failure (database unreachable, or an unknown outcome — INSERT IGNORE makes
 *   a repeat harmless): the same batch is retried with a doubling delay
 *   (capped) while new entries keep queueing. A failure that would repeat
 *   (core/errors.ts classifyWriteFailure: a value beyond the server's limits,
 *   say) is never retried as is: the batch is written again one entry at a
 *   time, and an entry that fails that way alone is dropped (logged, counted),
 *   so one bad checkpoint never blocks the ones after it. Memory stays bounded: when
 *   the backlog exceeds its cap, the pending checkpoints of the jobs with the
 *   oldest entries are dropped (logged, counted). Nothing breaks — a restart
 *   then re-runs those tasks (and their descendants' later checkpoints are
 *   ignored, and deleted, by recovery, since their ancestors' are missing).
 * - Outputs above {@link DEFAULT_MAX_ENTRY_BYTES} are not checkpointed (one
 *   statement must fit the server's packet limit); such a task re-runs after a
 *   restart.
 * - Entries are copied into buffers of their own size when queued: a task's
 *   outputs arrive as a view into the whole request, which the backlog would
 *   otherwise pin while counting only the view.
 * - `close` flushes what is pending, within a deadline (shutdown, D2).
 */
import { ownedBytes } from "../cache/owned-bytes.ts";
import { Backoff, sleep } from "../core/backoff.ts";
import { classifyWriteFailure } from "../core/errors.ts";
import type { CheckpointEntry } from "../db/checkpoints/writeCheckpoints.ts";
import type { Logger } from "../observability/logger.ts";

export type { CheckpointEntry };

/** Pending entries kept while the database cannot be written. */
export const DEFAULT_MAX_PENDING_ENTRIES = 200_000;
/** Pending output bytes kept while the database cannot be written. */
export const DEFAULT_MAX_PENDING_BYTES = 64 * 1024 * 1024;
/** Larger outputs are not checkpointed (sent hex-encoded, they must fit MariaDB's 16 MiB packet). */
export const DEFAULT_MAX_ENTRY_BYTES = 4 * 1024 * 1024;

export interface CheckpointWriterOptions {
  /** Writes one batch, in order, all or nothing; repeating it must change nothing (INSERT IGNORE). */
  readonly write: (entries: readonly CheckpointEntry[]) => Promise<unknown>;
  /** Longest an entry waits for a batch to form (runtime.checkpoints.flush_interval_ms). */
  readonly flushIntervalMs: number;
  /** Most entries in one flush (runtime.checkpoints.max_batch). */
  readonly maxBatch: number;
  readonly logger: Logger;
  readonly maxPendingEntries?: number;
  readonly maxPendingBytes?: number;
  readonly maxEntryBytes?: number;
  /** First retry delay after a failed flush; doubles up to `retryMaxMs`. Default 100 ms. */
  readonly retryMinMs?: number;
  /** Default 5 s. */
  readonly retryMaxMs?: number;
  /**
   * TEST ONLY (crash tests): write the first half of each batch, log
   * "checkpoint flush half-written", wait this long, then write the rest — so
   * a SIGKILL can land in the middle of a flush. A batch of one is held this
   * long before it is written, so the next batch gathers more than one.
   */
  readonly testSplitDelayMs?: number;
}

export interface CheckpointWriterStats {
  /** Entries handed to the writer. */
  readonly enqueued: number;
  /** Entries written (INSERT IGNORE may have found some already there). */
  readonly written: number;
  readonly batches: number;
  readonly failedFlushes: number;
  /** Entries dropped because the backlog was over its cap. */
  readonly dropped: number;
  /** Entries not checkpointed because their outputs were too large. */
  readonly skippedLarge: number;
  /** Entries dropped because writing them failed in a way that would repeat. */
  readonly rejected: number;
  /** Entries waiting (including a batch being written). */
  readonly pending: number;
  readonly pendingBytes: number;
}

export class CheckpointWriter {
  readonly #options: CheckpointWriterOptions;
  readonly #maxPendingEntries: number;
  readonly #maxPendingBytes: number;
  readonly #maxEntryBytes: number;
  /** Pending entries from `#head` on; the first `#inflight` of them are being written. */
  #queue: CheckpointEntry[] = [];
  #head = 0;
  #inflight = 0;
  #pendingBytes = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #flushing: Promise<void> | undefined;
  #closed = false;
  /** Set by close(): retries stop after this time (performance.now()). */
  #deadline = Infinity;
  #lastFailureLog = -Infinity;
  #enqueued = 0;
  #written = 0;
  #batches = 0;
  #failedFlushes = 0;
  #dropped = 0;
  #skippedLarge = 0;
  #rejected = 0;
  /** The write of the batch in flight, if any (what `forgetJob` waits for). */
  #inflightWrite: Promise<void> | undefined;
  /** Entries still to write one at a time, after a batch failed in a way that would repeat. */
  #isolate = 0;

  constructor(options: CheckpointWriterOptions) {
    this.#options = options;
    this.#maxPendingEntries = options.maxPendingEntries ?? DEFAULT_MAX_PENDING_ENTRIES;
    this.#maxPendingBytes = options.maxPendingBytes ?? DEFAULT_MAX_PENDING_BYTES;
    this.#maxEntryBytes = options.maxEntryBytes ?? DEFAULT_MAX_ENTRY_BYTES;
  }

  /** Queues one checkpoint (the engine's onTaskSucceeded hook). Never waits, never throws. */
  enqueue(jobId: bigint, taskIndex: number, outputs: Uint8Array): void {
    if (this.#closed) return;
    if (outputs.byteLength > this.#maxEntryBytes) {
      this.#skippedLarge++;
      return;
    }
    this.#queue.push({ jobId, taskIndex, outputs: ownedBytes(outputs) });
    this.#pendingBytes += outputs.byteLength;
    this.#enqueued++;
    if (this.pendingCount > this.#maxPendingEntries || this.#pendingBytes > this.#maxPendingBytes) this.#dropOldestJobs();
    this.#schedule();
  }

  /**
   * Forgets the job's checkpoints not yet written (an operator reloads the
   * job: its old run's outputs must not land after the reload has read the
   * checkpoints — INSERT IGNORE would keep them over the new run's). Waits
   * for a batch in flight that holds some of them; resolves when none is
   * queued or being written.
   */
  async forgetJob(jobId: bigint): Promise<void> {
    for (;;) {
      const start = this.#head + this.#inflight;
      let forgotten = 0;
      const kept: CheckpointEntry[] = this.#queue.slice(this.#head, start);
      for (let i = start; i < this.#queue.length; i++) {
        const entry = this.#queue[i]!;
        if (entry.jobId === jobId) {
          forgotten++;
          this.#pendingBytes -= entry.outputs.byteLength;
        } else {
          kept.push(entry);
        }
      }
      if (forgotten > 0) {
        this.#queue = kept;
        this.#head = 0;
        this.#dropped += forgotten;
      }
      const inflight = this.#queue.slice(this.#head, this.#head + this.#inflight);
      if (!inflight.some((entry) => entry.jobId === jobId)) return;
      await this.#inflightWrite?.catch(() => undefined);
    }
  }

  /** Entries waiting, including a batch being written. */
  get pendingCount(): number {
    return this.#queue.length - this.#head;
  }

  stats(): CheckpointWriterStats {
    return {
      enqueued: this.#enqueued,
      written: this.#written,
      batches: this.#batches,
      failedFlushes: this.#failedFlushes,
      dropped: this.#dropped,
      skippedLarge: this.#skippedLarge,
      rejected: this.#rejected,
      pending: this.pendingCount,
      pendingBytes: this.#pendingBytes,
    };
  }

  /** Writes everything pending now (retrying failures until it is written). */
  async flush(): Promise<void> {
    this.#clearTimer();
    while (this.pendingCount > 0 && performance.now() < this.#deadline) {
      this.#startFlushing();
      await this.#flushing;
    }
  }

  /**
   * Stops taking entries and flushes what is pending, for at most
   * `deadlineMs`; what is still unwritten then is logged and lost (recovery
   * re-runs those tasks). Returns the final stats.
   */
  async close(deadlineMs = 10_000): Promise<CheckpointWriterStats> {
    this.#closed = true;
    this.#deadline = performance.now() + deadlineMs;
    await this.flush();
    if (this.#flushing) await this.#flushing;
    const stats = this.stats();
    if (stats.pending > 0) {
      this.#options.logger.warn({ pending: stats.pending }, "checkpoints not written before shutdown: those tasks will run again after the restart");
    }
    return stats;
  }

  #schedule(): void {
    if (this.#flushing) return; // the running flush picks these up when it is done
    if (this.pendingCount >= this.#options.maxBatch || this.#options.flushIntervalMs === 0) {
      this.#clearTimer();
      this.#startFlushing();
    } else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#startFlushing();
      }, this.#options.flushIntervalMs);
    }
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #startFlushing(): void {
    if (this.#flushing || this.pendingCount === 0) return;
    this.#flushing = this.#flushLoop().finally(() => {
      this.#flushing = undefined;
      if (!this.#closed && this.pendingCount > 0) this.#schedule();
    });
  }

  /** Writes batches, oldest first, until nothing is pending; a failed batch is retried with backoff. */
  async #flushLoop(): Promise<void> {
    const backoff = new Backoff({ initialMs: this.#options.retryMinMs ?? 100, maxMs: this.#options.retryMaxMs ?? 5_000 });
    while (this.pendingCount > 0) {
      const batch = this.#queue.slice(this.#head, this.#head + (this.#isolate > 0 ? 1 : this.#options.maxBatch));
      this.#inflight = batch.length;
      try {
        this.#inflightWrite = this.#writeBatch(batch);
        await this.#inflightWrite;
      } catch (error) {
        this.#inflight = 0;
        const failure = classifyWriteFailure(error);
        if (failure === "will_repeat" || failure === "refused") {
          if (batch.length > 1) {
            this.#isolate = batch.length; // find the entry at fault: one at a time
            continue;
          }
          this.#reject(batch[0]!, error);
          continue;
        }
        const delay = backoff.next();
        const failures = backoff.failures;
        this.#failedFlushes++;
        const now = performance.now();
        if (failures === 1 || now - this.#lastFailureLog > 10_000) {
          this.#lastFailureLog = now;
          this.#options.logger.warn(
            { err: error, batch: batch.length, pending: this.pendingCount, failures },
            "checkpoint flush failed; retrying (dispatch goes on; the backlog is capped)",
          );
        }
        if (now >= this.#deadline) return;
        await sleep(Math.min(delay, Math.max(0, this.#deadline - now)));
        continue;
      }
      if (backoff.failures > 0) this.#options.logger.info({ failures: backoff.failures }, "checkpoint flush succeeded again");
      backoff.reset();
      // The batch is still the oldest run of the queue: drops never touch in-flight entries.
      for (let i = 0; i < batch.length; i++) this.#pendingBytes -= batch[i]!.outputs.byteLength;
      this.#head += batch.length;
      this.#inflight = 0;
      this.#written += batch.length;
      this.#batches++;
      if (this.#isolate > 0) this.#isolate -= batch.length;
      this.#compact();
    }
  }

  /** Drops the oldest pending entry, whose write would fail the same way every time. */
  #reject(entry: CheckpointEntry, error: unknown): void {
    this.#pendingBytes -= entry.outputs.byteLength;
    this.#head += 1;
    this.#rejected++;
    if (this.#isolate > 0) this.#isolate--;
    this.#options.logger.error(
      { err: error, jobId: entry.jobId, taskIndex: entry.taskIndex, bytes: entry.outputs.byteLength },
      "checkpoint cannot be written (the failure would repeat): dropped; after a restart this task runs again",
    );
    this.#compact();
  }

  async #writeBatch(batch: readonly CheckpointEntry[]): Promise<void> {
    const delayMs = this.#options.testSplitDelayMs ?? 0;
    if (delayMs <= 0) {
      await this.#options.write(batch);
      return;
    }
    if (batch.length < 2) {
      // Hold a lone entry so the successes behind it gather into a batch that can be split: on a
      // quick machine every flush would otherwise carry one entry and never be half-written.
      await sleep(delayMs);
      await this.#options.write(batch);
      return;
    }
    const half = Math.ceil(batch.length / 2);
    await this.#options.write(batch.slice(0, half));
    this.#options.logger.info({ written: half, of: batch.length, delayMs }, "checkpoint flush half-written (test hook)");
    await sleep(delayMs);
    await this.#options.write(batch.slice(half));
  }

  /**
   * Over the cap: drops every pending (not in-flight) checkpoint of the jobs
   * owning the oldest entries, until the backlog is at most 90 % of its caps.
   */
  #dropOldestJobs(): void {
    const targetEntries = Math.floor(this.#maxPendingEntries * 0.9);
    const targetBytes = Math.floor(this.#maxPendingBytes * 0.9);
    const start = this.#head + this.#inflight;
    const victims = new Set<bigint>();
    let entries = this.pendingCount;
    let bytes = this.#pendingBytes;
    // Choose victims from the oldest end, counting everything of theirs that will go.
    const perJob = new Map<bigint, { entries: number; bytes: number }>();
    for (let i = start; i < this.#queue.length; i++) {
      const e = this.#queue[i]!;
      const t = perJob.get(e.jobId) ?? { entries: 0, bytes: 0 };
      t.entries++;
      t.bytes += e.outputs.byteLength;
      perJob.set(e.jobId, t);
    }
    for (let i = start; i < this.#queue.length && (entries > targetEntries || bytes > targetBytes); i++) {
      const jobId = this.#queue[i]!.jobId;
      if (victims.has(jobId)) continue;
      victims.add(jobId);
      const t = perJob.get(jobId)!;
      entries -= t.entries;
      bytes -= t.bytes;
    }
    if (victims.size === 0) return;
    const kept: CheckpointEntry[] = this.#queue.slice(this.#head, start);
    let dropped = 0;
    for (let i = start; i < this.#queue.length; i++) {
      const e = this.#queue[i]!;
      if (victims.has(e.jobId)) {
        dropped++;
        this.#pendingBytes -= e.outputs.byteLength;
      } else {
        kept.push(e);
      }
    }
    this.#queue = kept;
    this.#head = 0;
    this.#dropped += dropped;
    this.#options.logger.warn(
      { droppedCheckpoints: dropped, jobs: victims.size, pending: this.pendingCount, pendingBytes: this.#pendingBytes },
      "checkpoint backlog over its cap (database not keeping up or unreachable): dropped the oldest jobs' pending checkpoints; a restart re-runs those tasks",
    );
  }

  #compact(): void {
    if (this.#head > 4096 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
  }
}
