/**
 * `writeCheckpoints`: stores a batch of task checkpoints (DECISIONS D9) —
 * each the output wire frame of a task that succeeded — and returns how many
 * were new.
 *
 * `INSERT IGNORE`, not `ON DUPLICATE KEY UPDATE`: a task's checkpoint is
 * written once, and the first write wins. A second write for the same
 * (job, task) — a flush retried after an unknown outcome, a task re-run after
 * a restart — is dropped, so children that already consumed the first outputs
 * never see them change. IGNORE also drops a checkpoint whose job no longer
 * exists (the foreign-key error becomes a warning): the job was deleted, so
 * there is nothing to resume. Repeating the whole call changes nothing, so a
 * lost connection is retried.
 *
 * Large batches are split into statements of at most 1000 rows and about
 * 4 MiB of outputs (sent hex-encoded, under MariaDB's 16 MiB default
 * max_allowed_packet); several statements run in one transaction, so a batch
 * is all or nothing and rows land in the order given.
 *
 * Fenced (DECISIONS D3): every batch is one transaction that ends with one
 * checkFence, on the stripe of the batch's first job, once a row was written.
 * One stripe is enough: a takeover rewrites every stripe, so any one of them
 * conflicts with it (Galera) or is locked by it (one MariaDB); more would only
 * lengthen the batch and hold more stripe locks for nothing.
 */
import { internal } from "../../core/errors.ts";
import { asBuffer } from "../bytes.ts";
import type { Db } from "../connection.ts";
import { checkFence } from "../fence/checkFence.ts";
import { fenceStripeOfJob } from "../fence/fence-stripes.ts";
import { carryWriteFence, writeFenceOf } from "../fence/write-fence.ts";
import { runStatement } from "../run-statement.ts";
import { withTransaction } from "../transaction.ts";

export interface CheckpointEntry {
  readonly jobId: bigint;
  /** The task's index in its graph (0 … 2^32-1). */
  readonly taskIndex: number;
  /** The task's output wire frame, as reported. */
  readonly outputs: Uint8Array;
}

const MAX_ROWS_PER_STATEMENT = 1000;
const MAX_BYTES_PER_STATEMENT = 4 * 1024 * 1024;

export async function writeCheckpoints(db: Db, entries: readonly CheckpointEntry[]): Promise<number> {
  for (const entry of entries) {
    if (!Number.isInteger(entry.taskIndex) || entry.taskIndex < 0 || entry.taskIndex > 0xffff_ffff) {
      throw internal(`checkpoint of job ${entry.jobId}: task index ${entry.taskIndex} is out of range`);
    }
  }
  const chunks = split(entries);
  if (chunks.length === 0) return 0;
  const insertAll = async (connection: Db): Promise<number> => {
    let written = 0;
    for (const chunk of chunks) {
      const result = await connection
        .insertInto("task_checkpoints")
        .ignore()
        .values(chunk.map((e) => ({ job_id: e.jobId, task_index: e.taskIndex, outputs: asBuffer(e.outputs) })))
        .executeTakeFirst();
      written += Number(result.numInsertedOrUpdatedRows ?? 0n);
    }
    return written;
  };
  if (writeFenceOf(db) !== undefined) {
    const stripe = fenceStripeOfJob(chunks[0]![0]!.jobId);
    return withTransaction(
      db,
      async (trx) => {
        const epoch = carryWriteFence(db, trx);
        const written = await insertAll(trx);
        if (written > 0) await checkFence(trx, epoch, stripe);
        return written;
      },
      { operation: "writeCheckpoints" },
    );
  }
  if (chunks.length === 1) {
    return runStatement(db, { operation: "writeCheckpoints", writes: true, idempotent: true }, insertAll);
  }
  return withTransaction(db, insertAll, { operation: "writeCheckpoints" });
}

function split(entries: readonly CheckpointEntry[]): CheckpointEntry[][] {
  const chunks: CheckpointEntry[][] = [];
  let current: CheckpointEntry[] = [];
  let bytes = 0;
  for (const entry of entries) {
    if (current.length > 0 && (current.length >= MAX_ROWS_PER_STATEMENT || bytes + entry.outputs.byteLength > MAX_BYTES_PER_STATEMENT)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(entry);
    bytes += entry.outputs.byteLength;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
