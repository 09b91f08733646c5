/**
 * `transitionJobs`: moves several jobs from one state to another in one
 * statement — the group commit of the engine's per-job moves (issue 20):
 * StartJob (Ready → Running), a job's last success (Running → CommitReady or
 * Succeeded, with each job's outputs), the commit and cleanup tasks'
 * successes, and failures (with each job's message).
 *
 * In one transaction: `UPDATE jobs … WHERE id IN (…) AND state = from`; when
 * fenced, joined with one fence stripe on the writer's epoch and bumping it
 * (any stripe conflicts with a takeover, which rewrites them all; one stripe
 * per batch keeps the statement's lock order that of the single-job fast path:
 * job rows, then one stripe). It commits only when every job moved (and the
 * stripe matched); otherwise it rolls back and answers false, and the caller
 * moves the jobs one by one to give each its own answer (a job not in `from`,
 * unknown, or a fenced writer) — nothing of a failed batch is kept.
 */
import { sql, type RawBuilder } from "kysely";
import { StorageError } from "../../core/errors.ts";
import { isTerminal, type JobState } from "../../core/job-state.ts";
import { asBuffer } from "../bytes.ts";
import type { Db } from "../connection.ts";
import { fenceStripeOfJob } from "../fence/fence-stripes.ts";
import { carryWriteFence } from "../fence/write-fence.ts";
import { withTransaction } from "../transaction.ts";

export interface BatchedMove {
  readonly jobId: bigint;
  /** Raw SerializedTaskOutputs (to CommitReady, or Succeeded from Running). */
  readonly outputs?: Uint8Array;
  /** To Failed only. */
  readonly errorMessage?: string;
}

/** Distinct job ids, all moving `from` → `to`. True: all moved and committed; false: none moved (rolled back). */
export async function transitionJobs(db: Db, from: JobState, to: JobState, moves: readonly BatchedMove[]): Promise<boolean> {
  if (moves.length === 0) return true;
  const ids = moves.map((move) => move.jobId);
  const changes: Record<string, unknown> = { state: to };
  if (isTerminal(to)) changes["ended_at"] = sql`CURRENT_TIMESTAMP(3)`;
  if (moves.some((move) => move.outputs !== undefined)) {
    changes["serialized_job_outputs"] = caseOfJob(moves, (move) => (move.outputs === undefined ? null : asBuffer(move.outputs)));
  }
  if (moves.some((move) => move.errorMessage !== undefined)) {
    changes["error_message"] = caseOfJob(moves, (move) => move.errorMessage ?? null);
  }
  // A StorageError goes up through withTransaction unretried, after its ROLLBACK.
  const shortfall = new StorageError("internal", `transitionJobs: not every job was ${from}`);
  try {
    return await withTransaction(
      db,
      async (trx) => {
        const epoch = carryWriteFence(db, trx);
        const result =
          epoch === undefined
            ? await trx.updateTable("jobs").set(changes).where("id", "in", ids).where("state", "=", from).executeTakeFirst()
            : await trx
                .updateTable(["jobs", "leader_fence"])
                .set({ ...changes, writes: sql<bigint>`writes + 1` })
                .where("jobs.id", "in", ids)
                .where("jobs.state", "=", from)
                .where("leader_fence.stripe", "=", fenceStripeOfJob(ids[0]!))
                .where("leader_fence.epoch", "=", epoch)
                .executeTakeFirst();
        // Matched rows: every job, plus the stripe once when fenced.
        const expected = BigInt(ids.length + (epoch === undefined ? 0 : 1));
        if (result.numUpdatedRows !== expected) throw shortfall;
        return true;
      },
      { operation: `transitionJobs (${ids.length}) ${from} to ${to}` },
    );
  } catch (error) {
    if (error === shortfall) return false;
    throw error;
  }
}

function caseOfJob(moves: readonly BatchedMove[], value: (move: BatchedMove) => unknown): RawBuilder<unknown> {
  return sql`CASE jobs.id ${sql.join(
    moves.map((move) => sql`WHEN ${move.jobId} THEN ${value(move)}`),
    sql` `,
  )} END`;
}
