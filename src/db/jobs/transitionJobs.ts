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
import type { JobState } from "../../core/job-state.ts";
import type { Db } from "../connection.ts";
import { fenceStripeOfJob } from "../fence/fence-stripes.ts";
import { writeFenceOf } from "../fence/write-fence.ts";
import { runStatement } from "../run-statement.ts";
import { jobStatesByIds } from "./jobStatesByIds.ts";
import { moveJobsInState, type BatchedMove } from "./job-update-statements.ts";

export type { BatchedMove } from "./job-update-statements.ts";

/**
 * Distinct job ids, all moving `from` → `to`. Answers the ids the statement
 * moved: all of them in the common case; when it matched fewer, the ids found
 * in `to` afterwards (one more read); none when it matched nothing — which is
 * also what a fenced writer sees, so its callers go on to be refused alone.
 */
export async function transitionJobs(db: Db, from: JobState, to: JobState, moves: readonly BatchedMove[]): Promise<ReadonlySet<bigint>> {
  const ids = moves.map((move) => move.jobId);
  if (ids.length === 0) return new Set();
  const epoch = writeFenceOf(db);
  const statement = moveJobsInState(from, to, moves, epoch === undefined ? undefined : { stripe: fenceStripeOfJob(ids[0]!), epoch });
  const result = await runStatement(db, { operation: `transitionJobs (${ids.length}) ${from} to ${to}`, writes: true }, (connection) =>
    connection.executeQuery(statement),
  );
  const moved = result.numAffectedRows ?? 0n;
  // Matched rows: every job moved, plus the stripe once when fenced.
  const fenceRows = epoch === undefined ? 0n : 1n;
  if (moved === BigInt(ids.length) + fenceRows) return new Set(ids);
  if (moved === 0n) return new Set();
  // Some moved (and the fence held): the ones now in `to` are ours — the engine
  // moves a job only from the state it knows, and no other writer holds the fence.
  const states = await jobStatesByIds(db, ids);
  return new Set(ids.filter((id) => states.get(id)?.state === to));
}
