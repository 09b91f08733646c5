/**
 * GetJobOutputs: the job outputs as SerializedTaskOutputs raw bytes. A job not
 * Succeeded → "failed_precondition" (cached or not, spec §8 item 1). A cached
 * job whose last write is unconfirmed answers the database's truth once it
 * answers; a Succeeded one without outputs in memory reads them.
 *
 * Outputs whose answer would exceed runtime.limits.max_response_bytes (default
 * 4 MiB, all Spider's clients read) are refused before the answer is built:
 * "invalid_argument" naming the limit, as every size limit (DECISIONS D5).
 * Not "failed_precondition": the job is Succeeded, and Spider's client would
 * report that status as a job in the wrong state.
 */
import { invalidArgument } from "../core/errors.ts";
import { MAX_RESPONSE_BYTES_KEY } from "./register-task-instance.ts";
import type { ServiceContext } from "./service-context.ts";

/** Tag and length prefix of the one bytes field of GetJobOutputsResponse. */
const ANSWER_FRAMING_BYTES = 6;

export async function getJobOutputs(context: ServiceContext, jobId: bigint): Promise<Uint8Array> {
  const jcb = context.cache.get(jobId);
  const outputs = jcb !== undefined ? await jcb.readOutputs() : await context.store.getJobOutputs(jobId);
  const bytes = outputs.length + ANSWER_FRAMING_BYTES;
  if (bytes > context.maxResponseBytes) {
    throw invalidArgument(
      `the outputs of job ${jobId} (${bytes} bytes answered) are above the limit of ${context.maxResponseBytes} bytes (${MAX_RESPONSE_BYTES_KEY})`,
    );
  }
  return outputs;
}
