/**
 * Task checkpoints in MariaDB for {@link MariaDbJobStore}, until src/db grows
 * its own checkpoint operations (then this file delegates to them). A batch is
 * one multi-row INSERT IGNORE (a checkpoint is written once; a repeat changes
 * nothing, so a lost connection may retry it).
 */
import type { Db } from "../db/connection.ts";
import { asBuffer } from "../db/bytes.ts";
import { runStatement } from "../db/run-statement.ts";
import type { TaskCheckpoint } from "./job-store.ts";

export async function writeCheckpoints(db: Db, checkpoints: readonly TaskCheckpoint[]): Promise<void> {
  if (checkpoints.length === 0) return;
  await runStatement(db, { operation: "writeCheckpoints", writes: true, idempotent: true }, (connection) =>
    connection
      .insertInto("task_checkpoints")
      .ignore()
      .values(checkpoints.map((c) => ({ job_id: c.jobId, task_index: c.taskIndex, outputs: asBuffer(c.outputs) })))
      .execute(),
  );
}

export async function readCheckpoints(db: Db, jobId: bigint): Promise<TaskCheckpoint[]> {
  const rows = await runStatement(db, { operation: "readCheckpoints", writes: false }, (connection) =>
    connection
      .selectFrom("task_checkpoints")
      .select(["task_index", "outputs"])
      .where("job_id", "=", jobId)
      .orderBy("task_index")
      .execute(),
  );
  return rows.map((row) => ({ jobId, taskIndex: Number(row.task_index), outputs: new Uint8Array(row.outputs) }));
}
