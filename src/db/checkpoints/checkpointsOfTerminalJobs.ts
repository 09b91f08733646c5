/** `checkpointsOfTerminalJobs`: checkpoints of terminal jobs (useless; GC deletes them with the job). */
import { TERMINAL_STATES } from "../../core/job-state.ts";
import type { Db } from "../connection.ts";
import { checkpointGroup, type CheckpointGroup } from "./checkpoint-group.ts";

export async function checkpointsOfTerminalJobs(db: Db, limit: number): Promise<CheckpointGroup> {
  return checkpointGroup(db, "of terminal jobs", (query) => query.where("j.state", "in", TERMINAL_STATES), limit);
}
