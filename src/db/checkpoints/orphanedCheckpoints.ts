/** `orphanedCheckpoints`: checkpoints whose job row is gone (only possible when foreign-key checks were off). */
import type { Db } from "../connection.ts";
import { checkpointGroup, type CheckpointGroup } from "./checkpoint-group.ts";

export async function orphanedCheckpoints(db: Db, limit: number): Promise<CheckpointGroup> {
  return checkpointGroup(db, "orphaned", (query) => query.where("j.id", "is", null), limit);
}
