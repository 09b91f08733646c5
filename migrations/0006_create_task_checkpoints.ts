import { sql, type Kysely } from "kysely";

/**
 * Task checkpoints (ours; DECISIONS D9): the outputs of each task that
 * succeeded, so a Running job resumes after a restart instead of re-running
 * every task. `outputs` holds the task's output wire frame exactly as the
 * execution manager reported it. One row per (job, task), written once;
 * deleted with the job (ON DELETE CASCADE), so terminal-job GC needs no second
 * pass.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE task_checkpoints (
      job_id BIGINT UNSIGNED NOT NULL,
      task_index INT UNSIGNED NOT NULL,
      outputs LONGBLOB NOT NULL,
      created_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      PRIMARY KEY (job_id, task_index),
      CONSTRAINT task_checkpoints_job FOREIGN KEY (job_id)
        REFERENCES jobs (id) ON UPDATE RESTRICT ON DELETE CASCADE
    ) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE task_checkpoints`.execute(db);
}
