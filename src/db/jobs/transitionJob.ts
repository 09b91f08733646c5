/**
 * `transitionJob`: moves a job from its current state to another, under the
 * one transition table (DECISIONS D4, src/core/job-state.ts). In a READ
 * COMMITTED transaction: lock the row (`SELECT state … FOR UPDATE`), check the
 * move, then UPDATE state and what goes with it:
 * - entering a terminal state sets `ended_at`;
 * - leaving one (an operator's retry of a Failed job) clears `ended_at`, the
 *   error message and the outputs, so the row looks like any Running job;
 * - `outputs` (raw SerializedTaskOutputs) are stored on the way to
 *   CommitReady or Succeeded; `errorMessage` on the way to Failed.
 *
 * The named wrappers (startJob, commitJobOutputs, cancelJob, …) are what the
 * engine calls; this is the general form, also for operator tooling.
 *
 * Fast path: when the move can come from exactly one state (every move the
 * engine makes per job: start, commit outputs, succeed, finish cleanup), one
 * conditional `UPDATE … WHERE id = ? AND state = ?` does the same work in one
 * round trip instead of five (isolation, BEGIN, locking SELECT, UPDATE,
 * COMMIT): the UPDATE takes the row lock itself and commits on its own. When
 * it changes no row, the locking path runs to find out why and say so.
 *
 * Fenced (a Db with a write fence, DECISIONS D3): the fast path's UPDATE
 * joins the job's fence stripe on the writer's epoch and bumps it, still one
 * statement; it changes both rows or neither. The locking path checks the
 * fence right after locking the job row (job row, then stripe: the order the
 * join takes them) and before judging the state, so a deposed server is told
 * it is fenced rather than that the new leader moved the job.
 */
import { failedPrecondition, internal } from "../../core/errors.ts";
import { canTransition, JOB_STATES, type JobState, type TransitionActor } from "../../core/job-state.ts";
import type { Db } from "../connection.ts";
import { checkFence } from "../fence/checkFence.ts";
import { fenceStripeOfJob } from "../fence/fence-stripes.ts";
import { carryWriteFence, writeFenceOf } from "../fence/write-fence.ts";
import { runStatement } from "../run-statement.ts";
import { withTransaction, type DbTransaction } from "../transaction.ts";
import { lockJobState } from "./lockJobState.ts";
import { moveJobIfInState, moveJobIfInStateFenced, moveLockedJob } from "./job-update-statements.ts";

export interface TransitionRequest {
  readonly to: JobState;
  /** Who asks; the table allows some moves only to some actors. Default "engine". */
  readonly by?: TransitionActor;
  /**
   * States the caller believes the job is in. Another state fails the call
   * with "job in state X, expected Y" before the table is consulted (e.g.
   * StartJob on a job that is not Ready).
   */
  readonly expectFrom?: readonly JobState[];
  /** Raw SerializedTaskOutputs; required to CommitReady, and to Succeeded from Running. */
  readonly outputs?: Uint8Array;
  /** Required to Failed, and only there. */
  readonly errorMessage?: string;
}

export interface JobTransition {
  readonly from: JobState;
  readonly to: JobState;
}

export async function transitionJob(db: Db, jobId: bigint, request: TransitionRequest): Promise<JobTransition> {
  checkPayload(request);
  const only = onlySourceState(request);
  if (only !== undefined && !db.isTransaction) {
    const epoch = writeFenceOf(db);
    const statement =
      epoch === undefined
        ? moveJobIfInState(jobId, only, request.to, request)
        : moveJobIfInStateFenced(jobId, only, request.to, request, fenceStripeOfJob(jobId), epoch);
    const result = await runStatement(db, { operation: `transitionJob ${jobId} to ${request.to}`, writes: true }, (connection) =>
      connection.executeQuery(statement),
    );
    // Both rows or none, when fenced.
    if ((result.numAffectedRows ?? 0n) > 0n) return { from: only, to: request.to };
  }
  return withTransaction(
    db,
    async (trx) => {
      const epoch = carryWriteFence(db, trx);
      const from = await lockJobState(trx, jobId);
      await checkFence(trx, epoch, fenceStripeOfJob(jobId));
      if (request.expectFrom !== undefined && !request.expectFrom.includes(from)) {
        throw failedPrecondition(`job in state ${from}, expected ${request.expectFrom.join(" or ")}`);
      }
      await applyJobTransition(trx, jobId, from, request);
      return { from, to: request.to };
    },
    { operation: `transitionJob ${jobId} to ${request.to}` },
  );
}

/**
 * Checks `from → request.to` against the table and writes it. For callers
 * that have already locked the row in their own transaction and checked the
 * write fence there (cancelJob).
 */
export async function applyJobTransition(
  trx: DbTransaction,
  jobId: bigint,
  from: JobState,
  request: TransitionRequest,
): Promise<void> {
  if (!canTransition(from, request.to, request.by ?? "engine")) {
    throw failedPrecondition(`job in state ${from} cannot move to ${request.to}`);
  }
  const result = await trx.executeQuery(moveLockedJob(jobId, from, request.to, request));
  if (result.numAffectedRows !== 1n) {
    throw internal(`job ${jobId}: updating the locked row changed ${result.numAffectedRows} rows`);
  }
}

/** The one state the move can start from, if there is exactly one (the fast path's condition). */
function onlySourceState(request: TransitionRequest): JobState | undefined {
  const sources = JOB_STATES.filter(
    (from) => canTransition(from, request.to, request.by ?? "engine") && (request.expectFrom === undefined || request.expectFrom.includes(from)),
  );
  return sources.length === 1 ? sources[0] : undefined;
}

/** Outputs and messages belong to particular targets; anything else is a caller's bug. */
function checkPayload(request: TransitionRequest): void {
  const { to } = request;
  if ((to === "Failed") !== (request.errorMessage !== undefined)) {
    throw internal(
      to === "Failed" ? "moving a job to Failed needs an error message" : `an error message is only stored on the way to Failed, not ${to}`,
    );
  }
  if (request.outputs !== undefined && to !== "CommitReady" && to !== "Succeeded") {
    throw internal(`outputs are only stored on the way to CommitReady or Succeeded, not ${to}`);
  }
}
