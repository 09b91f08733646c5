/**
 * A group of checkpoint rows that `doctor` reports (orphaned, of unstarted
 * jobs, of terminal jobs): how many rows, and some of their job ids. Each is
 * a filter on the checkpoints left-joined with their jobs (`c`, `j`).
 */
import type { Db } from "../connection.ts";
import { runStatement } from "../run-statement.ts";

export interface CheckpointGroup {
  readonly rows: number;
  readonly jobIds: bigint[];
}

function checkpointsWithTheirJobs(connection: Db) {
  return connection.selectFrom("task_checkpoints as c").leftJoin("jobs as j", "j.id", "c.job_id");
}

export type CheckpointsWithTheirJobs = ReturnType<typeof checkpointsWithTheirJobs>;

/** Counts the checkpoints `filter` keeps and lists up to `limit` of their job ids, in order. */
export async function checkpointGroup(
  db: Db,
  name: string,
  filter: (query: CheckpointsWithTheirJobs) => CheckpointsWithTheirJobs,
  limit: number,
): Promise<CheckpointGroup> {
  return runStatement(db, { operation: `checkpoints ${name}`, writes: false }, async (connection) => {
    const from = filter(checkpointsWithTheirJobs(connection));
    const count = await from.select((eb) => eb.fn.countAll<bigint>().as("n")).executeTakeFirst();
    const rows = Number(count?.n ?? 0);
    if (rows === 0) return { rows, jobIds: [] };
    const ids = await from.select("c.job_id").distinct().orderBy("c.job_id").limit(limit).execute();
    return { rows, jobIds: ids.map((row) => row.job_id) };
  });
}
