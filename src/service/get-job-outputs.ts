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
 * report that status as a job in the wrong state. For a job not cached the
 * store is asked the outputs' size first, so outputs that cannot be sent are
 * never read.
 */
import { failedPrecondition, invalidArgument } from "../core/errors.ts";
import { MAX_RESPONSE_BYTES_KEY } from "./register-task-instance.ts";
import type { Engine } from "../cache/engine.ts";

/** Tag and length prefix of the one bytes field of GetJobOutputsResponse. */
const ANSWER_FRAMING_BYTES = 6;

export async function getJobOutputs(engine: Engine, jobId: bigint): Promise<Uint8Array> {
  const jcb = engine.cache.get(jobId);
  if (jcb !== undefined) {
    const outputs = await jcb.readOutputs();
    refuseAboveLimit(engine, jobId, outputs.length);
    return outputs;
  }
  const size = await engine.store.getJobOutputsSize(jobId);
  if (size.state !== "Succeeded") throw failedPrecondition(`job in state ${size.state}, expected Succeeded`);
  // No size: the row breaks an invariant, which the read below reports.
  if (size.bytes !== undefined) refuseAboveLimit(engine, jobId, size.bytes);
  return engine.store.getJobOutputs(jobId);
}

function refuseAboveLimit(engine: Engine, jobId: bigint, outputsBytes: number): void {
  const bytes = outputsBytes + ANSWER_FRAMING_BYTES;
  if (bytes > engine.maxResponseBytes) {
    throw invalidArgument(
      `the outputs of job ${jobId} (${bytes} bytes answered) are above the limit of ${engine.maxResponseBytes} bytes (${MAX_RESPONSE_BYTES_KEY})`,
    );
  }
}
