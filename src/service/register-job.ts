/**
 * RegisterJob: validate the submission (src/core), check its inputs against
 * the per-job payload limit, insert the job in the database (state Ready; an
 * unknown resource group is "unauthenticated"). Nothing is enqueued until
 * StartJob. Where StartJob can load a Ready job from the database (the
 * server: engine.loadReadyJob), the job is not cached: its inputs stay out
 * of the job cache until it starts (issue #17 item 3) — only briefly kept
 * in its validated form for the StartJob that normally follows (issue 20,
 * src/cache/registered-jobs.ts). Otherwise its control block
 * is cached now, within the cache's payload budget (UNAVAILABLE beyond it,
 * before anything is written).
 */
import { JobControlBlock } from "../cache/job-control-block.ts";
import { invalidArgument, unavailable } from "../core/errors.ts";
import { validateJobSubmissionAsync } from "../core/job-submission.ts";
import type { Engine } from "../cache/engine.ts";

export interface RegisterJobRequest {
  readonly resourceGroupId: bigint;
  readonly compressedTaskGraph: Uint8Array;
  readonly compressedInputs: Uint8Array;
}

export async function registerJob(engine: Engine, request: RegisterJobRequest): Promise<bigint> {
  const { graph, inputs } = await validateJobSubmissionAsync(
    request.compressedTaskGraph,
    request.compressedInputs,
    engine.limits,
    engine.graphCache,
  );
  // The inputs are held in memory while the job runs: refuse them before anything is written.
  let inputBytes = 0;
  for (const input of inputs) inputBytes += input.length;
  const limit = engine.maxPayloadBytesPerJob;
  if (inputBytes > limit) {
    throw invalidArgument(
      `job inputs (${inputBytes} bytes) are above the limit of ${limit} bytes (runtime.limits.max_payload_bytes_per_job)`,
    );
  }
  const cacheNow = engine.loadReadyJob === undefined;
  const budget = engine.payloadBudget;
  if (cacheNow && budget !== undefined && !budget.fits(inputBytes)) throw unavailable(budget.message("job inputs", inputBytes));
  const jobId = await engine.store.insertJob(request.resourceGroupId, request.compressedTaskGraph, request.compressedInputs);
  if (cacheNow) {
    engine.cache.insert(
      new JobControlBlock({ jobId, resourceGroupId: request.resourceGroupId, graph, inputs, engine: engine }),
    );
  } else {
    engine.registeredJobs?.keep(jobId, { resourceGroupId: request.resourceGroupId, graph, inputs, bytes: inputBytes });
  }
  engine.logger.info({ jobId, resourceGroupId: request.resourceGroupId, tasks: graph.tasks.length }, "job registered");
  return jobId;
}
