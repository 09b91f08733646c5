/**
 * Builds the job control block of a job check-job.ts found usable: the
 * block in the row's state, with the planned checkpoints restored Succeeded
 * (their outputs kept, their children released). Nothing is written and
 * nothing enqueued: restart recovery's refill does that (DECISIONS D7), the
 * operator's reload refills the block itself.
 */
import { JobControlBlock } from "../cache/job-control-block.ts";
import type { JobEngine } from "../cache/job-engine.ts";
import { internal } from "../core/errors.ts";
import type { CheckedJob } from "./check-job.ts";

export function rebuildJob(job: CheckedJob, engine: JobEngine): JobControlBlock {
  const init = { jobId: job.jobId, resourceGroupId: job.resourceGroupId, graph: job.graph, inputs: job.inputs, engine };
  // A copy of the stored outputs: the row's buffer may be a view into a whole page.
  const jcb = JobControlBlock.recovered(init, job.state, job.outputs === undefined ? undefined : new Uint8Array(job.outputs));
  for (const index of job.restored) {
    // checkJob planned exactly what the block accepts; a refusal is a bug, not a bad row.
    if (!jcb.restoreSucceededTask(index, job.checkpoints!.get(index)!)) {
      throw internal(`job ${job.jobId}: the checkpoint of task ${index} was planned for restoring but the control block refused it`);
    }
  }
  return jcb;
}
