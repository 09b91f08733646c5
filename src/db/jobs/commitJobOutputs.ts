/**
 * `commitJobOutputs`: the last regular task succeeded. Stores the job's
 * outputs (raw SerializedTaskOutputs) and moves Running → CommitReady when the
 * job has a commit task, else Running → Succeeded.
 */
import type { Db } from "../connection.ts";
import { transitionJob, type JobTransition } from "./transitionJob.ts";

export async function commitJobOutputs(
  db: Db,
  jobId: bigint,
  outputs: Uint8Array,
  hasCommitTask: boolean,
): Promise<JobTransition> {
  return transitionJob(db, jobId, {
    to: hasCommitTask ? "CommitReady" : "Succeeded",
    expectFrom: ["Running"],
    outputs,
  });
}
