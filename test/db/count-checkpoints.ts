/** How many checkpoints one job has, or all jobs together (test assertions: the service never counts them). */
import type { Db } from "../../src/db/connection.ts";

export async function countCheckpoints(db: Db, jobId?: bigint): Promise<number> {
  let query = db.selectFrom("task_checkpoints").select((eb) => eb.fn.countAll<bigint>().as("count"));
  if (jobId !== undefined) query = query.where("job_id", "=", jobId);
  return Number((await query.executeTakeFirstOrThrow()).count);
}
