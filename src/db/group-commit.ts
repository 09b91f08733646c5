/**
 * Group commit across requests (issue 20): concurrent writes of one kind are
 * gathered and written by one statement, so the database does one round trip,
 * one parse and one log flush for the lot instead of one each.
 *
 * No timer: a write submitted while fewer than `maxInFlight` batches are being
 * written goes out at once (with whatever else was submitted in the same
 * turn of the event loop), so an idle server adds no latency. Under load the
 * next batch forms while the previous ones commit — the busier the server,
 * the larger the batches (graphile-worker's completeJobBatchDelay without the
 * delay).
 *
 * Every submitter gets its own outcome: `write` answers one settlement per
 * item, in order. A `write` that throws fails every item of its batch with
 * that error. Nothing answers before `write` has settled, so an item's
 * promise resolves only once its row is as durable as the statement that
 * carried it.
 */
export type Settlement<R> = { readonly ok: true; readonly value: R } | { readonly ok: false; readonly error: unknown };

export interface GroupCommitOptions<T, R> {
  /** Writes a batch (1..maxBatch items, in submission order); one settlement per item, in order. */
  readonly write: (items: readonly T[]) => Promise<readonly Settlement<R>[]>;
  /** Most items in one batch. */
  readonly maxBatch: number;
  /** Batches being written at once; items submitted beyond that wait for the next batch. */
  readonly maxInFlight: number;
  /** Optional bound on one batch's size in bytes (max_allowed_packet); an item counts `sizeOf(item)`. */
  readonly maxBatchBytes?: number;
  readonly sizeOf?: (item: T) => number;
  /**
   * Captures the submitter's async context, so the batch carrying its item (when it comes
   * first) runs in it. Without it a batch runs in whichever context started it — under load,
   * that of the batch before. Only the test-only fault injection keeps state per call (its
   * AsyncLocalStorage), so only it asks: capturing every submitter's context with
   * AsyncLocalStorage.snapshot() showed in a W1 CPU profile of the server (issue 20).
   */
  readonly captureContext?: () => RunInContext;
}

/** Runs a function in a captured async context. */
export type RunInContext = <V>(fn: () => V) => V;

const runHere: RunInContext = (fn) => fn();

export interface GroupCommitStats {
  readonly batches: number;
  readonly items: number;
  readonly largestBatch: number;
}

interface Waiting<T, R> {
  readonly item: T;
  /** Runs a function in the submitter's async context, when asked to capture it (see #startBatches). */
  readonly inContext: RunInContext;
  readonly resolve: (value: R) => void;
  readonly reject: (error: unknown) => void;
}

export class GroupCommit<T, R> {
  readonly #options: GroupCommitOptions<T, R>;
  #waiting: Waiting<T, R>[] = [];
  #inFlight = 0;
  #scheduled = false;
  #batches = 0;
  #items = 0;
  #largest = 0;

  constructor(options: GroupCommitOptions<T, R>) {
    if (!Number.isSafeInteger(options.maxBatch) || options.maxBatch < 1) throw new RangeError(`maxBatch must be a positive integer, got ${options.maxBatch}`);
    if (!Number.isSafeInteger(options.maxInFlight) || options.maxInFlight < 1) throw new RangeError(`maxInFlight must be a positive integer, got ${options.maxInFlight}`);
    this.#options = options;
  }

  /** Resolves with this item's outcome once the batch carrying it has been written. */
  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#waiting.push({ item, resolve, reject, inContext: this.#options.captureContext?.() ?? runHere });
      this.#schedule();
    });
  }

  get stats(): GroupCommitStats {
    return { batches: this.#batches, items: this.#items, largestBatch: this.#largest };
  }

  // Items submitted in one turn of the event loop go out together.
  #schedule(): void {
    if (this.#scheduled || this.#inFlight >= this.#options.maxInFlight) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      this.#startBatches();
    });
  }

  #startBatches(): void {
    while (this.#waiting.length > 0 && this.#inFlight < this.#options.maxInFlight) {
      const batch = this.#take();
      this.#inFlight++;
      // With captureContext, the batch runs in the context of its first
      // submitter, not in that of whichever batch finished before it: what is
      // scoped to a call (the test-only fault injection) follows the calls it carries.
      void batch[0]!.inContext(() => this.#write(batch)).finally(() => {
        this.#inFlight--;
        if (this.#waiting.length > 0) this.#schedule();
      });
    }
  }

  #take(): Waiting<T, R>[] {
    const { maxBatch, maxBatchBytes, sizeOf } = this.#options;
    let count = Math.min(maxBatch, this.#waiting.length);
    if (maxBatchBytes !== undefined && sizeOf !== undefined) {
      let bytes = 0;
      for (let i = 0; i < count; i++) {
        bytes += sizeOf(this.#waiting[i]!.item);
        // Always at least one item: a single one over the bound is the statement's own business.
        if (bytes > maxBatchBytes && i > 0) {
          count = i;
          break;
        }
      }
    }
    const batch = this.#waiting.slice(0, count);
    this.#waiting = this.#waiting.slice(count);
    return batch;
  }

  async #write(batch: Waiting<T, R>[]): Promise<void> {
    this.#batches++;
    this.#items += batch.length;
    if (batch.length > this.#largest) this.#largest = batch.length;
    let settlements: readonly Settlement<R>[];
    try {
      settlements = await this.#options.write(batch.map((waiting) => waiting.item));
    } catch (error) {
      for (const waiting of batch) waiting.reject(error);
      return;
    }
    batch.forEach((waiting, i) => {
      const settlement = settlements[i];
      if (settlement === undefined) waiting.reject(new Error(`group commit: the batch answered ${settlements.length} outcomes for ${batch.length} items`));
      else if (settlement.ok) waiting.resolve(settlement.value);
      else waiting.reject(settlement.error);
    });
  }
}

/** Runs `fn` and records its outcome as a settlement (for the per-item fallback of a batch). */
export async function settle<R>(fn: () => Promise<R>): Promise<Settlement<R>> {
  try {
    return { ok: true, value: await fn() };
  } catch (error) {
    return { ok: false, error };
  }
}
