/**
 * `cancelJob`: CancelJob. Ready → Cancelled (nothing ran); Running or
 * CommitReady → CleanupReady when the job has a cleanup task, else Cancelled
 * (`cancelTarget`, DECISIONS D4). Idempotent (DECISIONS D5): a job already
 * CleanupReady or terminal is left as it is and its state returned, no error.
 * Returns the job's state after the call.
 *
 * Fenced (DECISIONS D3): a move is written only after checkFence on the job's
 * stripe; an answer that writes nothing needs no fence.
 */
import { internal } from "../../core/errors.ts";
import { cancelTarget, isTerminal, type JobState, type TransitionActor } from "../../core/job-state.ts";
import type { Db } from "../connection.ts";
import { checkFence } from "../fence/checkFence.ts";
import { fenceStripeOfJob } from "../fence/fence-stripes.ts";
import { carryWriteFence } from "../fence/write-fence.ts";
import { withTransaction } from "../transaction.ts";
import { lockJobState } from "./lockJobState.ts";
import { applyJobTransition } from "./transitionJob.ts";

export async function cancelJob(
  db: Db,
  jobId: bigint,
  hasCleanupTask: boolean,
  by: TransitionActor = "engine",
): Promise<JobState> {
  return withTransaction(
    db,
    async (trx) => {
      const epoch = carryWriteFence(db, trx);
      const from = await lockJobState(trx, jobId);
      if (from === "CleanupReady" || isTerminal(from)) return from;
      const to = cancelTarget(from, hasCleanupTask);
      if (to === undefined) throw internal(`job ${jobId} in state ${from} has no cancel target`);
      await checkFence(trx, epoch, fenceStripeOfJob(jobId));
      await applyJobTransition(trx, jobId, from, { to, by });
      return to;
    },
    { operation: `cancelJob ${jobId}` },
  );
}
