/**
 * Wires the checkpoint writer into the engine's hooks: every regular task
 * that succeeds is queued for checkpointing (DECISIONS D9) — except a job's
 * last, whose success stored the job's outputs and moved the job out of
 * Running, the only state recovery reads checkpoints for — after whatever
 * `onTaskSucceeded` hook was there already (metrics, logs); a job an operator
 * reloads has its queued checkpoints forgotten first.
 */
import type { StorageServiceHooks } from "../service/storage-service.ts";
import type { CheckpointWriter } from "../checkpoints/checkpoint-writer.ts";

export function withCheckpoints(hooks: StorageServiceHooks, writer: CheckpointWriter | undefined): StorageServiceHooks {
  if (writer === undefined) return hooks;
  const previous = hooks.onTaskSucceeded;
  return {
    ...hooks,
    onTaskSucceeded: (jobId, taskIndex, outputs, last) => {
      if (!last) writer.enqueue(jobId, taskIndex, outputs);
      previous?.(jobId, taskIndex, outputs, last);
    },
    onJobReloading: async (jobId) => {
      await hooks.onJobReloading?.(jobId);
      await writer.forgetJob(jobId);
    },
  };
}
