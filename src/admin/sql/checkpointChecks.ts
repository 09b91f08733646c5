/**
 * Checkpoint rows that `doctor` reports: orphans (their job row is gone —
 * only possible when foreign-key checks were off), checkpoints of jobs that
 * never started (they cannot have come from this service), and checkpoints of
 * terminal jobs (useless; GC deletes them with the job). Each: how many rows,
 * and some of the job ids.
 */
import { sql, type RawBuilder } from "kysely";
import type { Db } from "../../db/connection.ts";
import { runStatement } from "../../db/run-statement.ts";

export interface CheckpointGroup {
  readonly rows: number;
  readonly jobIds: bigint[];
}

async function group(db: Db, name: string, join: RawBuilder<unknown>, where: RawBuilder<unknown>, limit: number): Promise<CheckpointGroup> {
  return runStatement(db, { operation: `checkpoints ${name}`, writes: false }, async (connection) => {
    const count = await sql<{ n: bigint }>`SELECT COUNT(*) AS n FROM task_checkpoints c ${join} WHERE ${where}`.execute(connection);
    const rows = Number(count.rows[0]?.n ?? 0);
    if (rows === 0) return { rows, jobIds: [] };
    const ids = await sql<{ job_id: bigint }>`
      SELECT DISTINCT c.job_id FROM task_checkpoints c ${join} WHERE ${where} ORDER BY c.job_id LIMIT ${limit}
    `.execute(connection);
    return { rows, jobIds: ids.rows.map((row) => row.job_id) };
  });
}

export function orphanedCheckpoints(db: Db, limit: number): Promise<CheckpointGroup> {
  return group(db, "orphaned", sql`LEFT JOIN jobs j ON j.id = c.job_id`, sql`j.id IS NULL`, limit);
}

export function checkpointsOfUnstartedJobs(db: Db, limit: number): Promise<CheckpointGroup> {
  return group(db, "of unstarted jobs", sql`JOIN jobs j ON j.id = c.job_id`, sql`j.state = 'Ready'`, limit);
}

export function checkpointsOfTerminalJobs(db: Db, limit: number): Promise<CheckpointGroup> {
  return group(db, "of terminal jobs", sql`JOIN jobs j ON j.id = c.job_id`, sql`j.state IN ('Succeeded', 'Failed', 'Cancelled')`, limit);
}
