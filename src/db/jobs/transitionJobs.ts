/**
 * `transitionJobs`: moves several jobs from one state to another in one
 * statement — the group commit of the engine's per-job moves (issue 20):
 * StartJob (Ready → Running), a job's last success (Running → CommitReady or
 * Succeeded, with each job's outputs), the commit and cleanup tasks'
 * successes, and failures (with each job's message).
 *
 * One autocommit `UPDATE jobs … WHERE id IN (…) AND state = from`; when
 * fenced, joined with one fence stripe on the writer's epoch and bumping it
 * (any stripe conflicts with a takeover, which rewrites them all; one stripe
 * per batch keeps the statement's lock order that of the single-job fast path:
 * job rows, then one stripe). The caller moves the jobs this did not move one
 * by one, to give each its own answer (a job not in `from`, unknown, or a
 * fenced writer).
 */
import { sql, type RawBuilder } from "kysely";
import { isTerminal, type JobState } from "../../core/job-state.ts";
import { asBuffer } from "../bytes.ts";
import type { Db } from "../connection.ts";
import { fenceStripeOfJob } from "../fence/fence-stripes.ts";
import { writeFenceOf } from "../fence/write-fence.ts";
import { runStatement } from "../run-statement.ts";
import { jobStatesByIds } from "./jobStatesByIds.ts";

export interface BatchedMove {
  readonly jobId: bigint;
  /** Raw SerializedTaskOutputs (to CommitReady, or Succeeded from Running). */
  readonly outputs?: Uint8Array;
  /** To Failed only. */
  readonly errorMessage?: string;
}

/**
 * Distinct job ids, all moving `from` → `to`. Answers the ids the statement
 * moved: all of them in the common case; when it matched fewer, the ids found
 * in `to` afterwards (one more read); none when it matched nothing — which is
 * also what a fenced writer sees, so its callers go on to be refused alone.
 */
export async function transitionJobs(db: Db, from: JobState, to: JobState, moves: readonly BatchedMove[]): Promise<ReadonlySet<bigint>> {
  const ids = moves.map((move) => move.jobId);
  if (ids.length === 0) return new Set();
  const changes: Record<string, unknown> = { state: to };
  if (isTerminal(to)) changes["ended_at"] = sql`CURRENT_TIMESTAMP(3)`;
  if (moves.some((move) => move.outputs !== undefined)) {
    changes["serialized_job_outputs"] = caseOfJob(moves, (move) => (move.outputs === undefined ? null : asBuffer(move.outputs)));
  }
  if (moves.some((move) => move.errorMessage !== undefined)) {
    changes["error_message"] = caseOfJob(moves, (move) => move.errorMessage ?? null);
  }
  const epoch = writeFenceOf(db);
  const result = await runStatement(db, { operation: `transitionJobs (${ids.length}) ${from} to ${to}`, writes: true }, (connection) =>
    epoch === undefined
      ? connection.updateTable("jobs").set(changes).where("id", "in", ids).where("state", "=", from).executeTakeFirst()
      : connection
          .updateTable(["jobs", "leader_fence"])
          .set({ ...changes, writes: sql<bigint>`writes + 1` })
          .where("jobs.id", "in", ids)
          .where("jobs.state", "=", from)
          .where("leader_fence.stripe", "=", fenceStripeOfJob(ids[0]!))
          .where("leader_fence.epoch", "=", epoch)
          .executeTakeFirst(),
  );
  // Matched rows: every job moved, plus the stripe once when fenced.
  const fenceRows = epoch === undefined ? 0n : 1n;
  if (result.numUpdatedRows === BigInt(ids.length) + fenceRows) return new Set(ids);
  if (result.numUpdatedRows === 0n) return new Set();
  // Some moved (and the fence held): the ones now in `to` are ours — the engine
  // moves a job only from the state it knows, and no other writer holds the fence.
  const states = await jobStatesByIds(db, ids);
  return new Set(ids.filter((id) => states.get(id)?.state === to));
}
function caseOfJob(moves: readonly BatchedMove[], value: (move: BatchedMove) => unknown): RawBuilder<unknown> {
  return sql`CASE jobs.id ${sql.join(
    moves.map((move) => sql`WHEN ${move.jobId} THEN ${value(move)}`),
    sql` `,
  )} END`;
}
