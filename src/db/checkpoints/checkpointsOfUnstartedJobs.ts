/** `checkpointsOfUnstartedJobs`: checkpoints of jobs still Ready (they cannot have come from this service). */
import type { Db } from "../connection.ts";
import { checkpointGroup, type CheckpointGroup } from "./checkpoint-group.ts";

export async function checkpointsOfUnstartedJobs(db: Db, limit: number): Promise<CheckpointGroup> {
  return checkpointGroup(db, "of unstarted jobs", (query) => query.where("j.state", "=", "Ready"), limit);
}
