/**
 * GetJobOutputs: the job outputs as SerializedTaskOutputs raw bytes. A job not
 * Succeeded → "failed_precondition" (cached or not, spec §8 item 1).
 */
import type { ServiceContext } from "./service-context.ts";

export async function getJobOutputs(context: ServiceContext, jobId: bigint): Promise<Uint8Array> {
  const jcb = context.cache.get(jobId);
  if (jcb !== undefined) return jcb.outputs();
  return context.store.getJobOutputs(jobId);
}
