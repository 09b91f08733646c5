/**
 * RegisterJob: validate the submission (src/core), insert the job in the
 * database (state Ready; an unknown resource group is "unauthenticated"),
 * then cache its control block. Nothing is enqueued until StartJob.
 */
import { JobControlBlock } from "../cache/job-control-block.ts";
import { validateJobSubmission } from "../core/job-submission.ts";
import type { ServiceContext } from "./service-context.ts";

export interface RegisterJobRequest {
  readonly resourceGroupId: bigint;
  readonly compressedTaskGraph: Uint8Array;
  readonly compressedInputs: Uint8Array;
}

export async function registerJob(context: ServiceContext, request: RegisterJobRequest): Promise<bigint> {
  const { graph, inputs } = validateJobSubmission(
    request.compressedTaskGraph,
    request.compressedInputs,
    context.limits,
    context.graphCache,
  );
  const jobId = await context.store.insertJob(request.resourceGroupId, request.compressedTaskGraph, request.compressedInputs);
  context.cache.insert(
    new JobControlBlock({ jobId, resourceGroupId: request.resourceGroupId, graph, inputs, engine: context.engine }),
  );
  return jobId;
}
