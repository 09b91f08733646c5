import { sql, type Kysely } from "kysely";

/**
 * Jobs: one row per submitted job, the source of truth for its state
 * (transitions: DECISIONS D4, src/core/job-state.ts).
 *
 * Differs from Spider's table (spec §2.1) on purpose:
 * - Timestamps are TIMESTAMP(3): millisecond heartbeats and GC cut-offs, and
 *   `ended_at` is explicitly `NULL DEFAULT NULL` (Spider's bare `TIMESTAMP`
 *   depends on `explicit_defaults_for_timestamp`). `ended_at` is set exactly
 *   when the job is terminal and cleared when an operator retries a failed job.
 *   (TIMESTAMP ends in 2038 before MariaDB 11.5; the same holds for Spider.)
 * - No `max_num_retries` / `num_retries`: Spider never reads or writes them,
 *   and retry counters are deliberately not persisted (DECISIONS D9).
 * - No quarantine column: recovery quarantines a corrupt row by failing it with
 *   an `error_message` that starts with "quarantined: " (src/db/jobs/quarantineJob.ts),
 *   so `GetJobError` and every tool already show why.
 * - Index `(state, id)` for per-state keyset paging (DECISIONS D8; InnoDB
 *   would append `id` anyway, naming it keeps the intent visible) instead of
 *   `(state)`, and `(ended_at)` for terminal-job GC: `ended_at` is non-NULL
 *   only for terminal jobs, so `ended_at < cutoff` reads only expired rows.
 * - utf8mb4, so any error message can be stored.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE jobs (
      id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
      resource_group_id BIGINT UNSIGNED NOT NULL,
      state ENUM('Ready', 'Running', 'CommitReady', 'CleanupReady', 'Succeeded', 'Failed', 'Cancelled')
        NOT NULL DEFAULT 'Ready',
      compressed_serialized_task_graph LONGBLOB NOT NULL,
      compressed_serialized_job_inputs LONGBLOB NOT NULL,
      serialized_job_outputs LONGBLOB NULL DEFAULT NULL,
      error_message LONGTEXT NULL DEFAULT NULL,
      created_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      updated_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
      ended_at TIMESTAMP(3) NULL DEFAULT NULL,
      PRIMARY KEY (id),
      INDEX jobs_state_id (state, id),
      INDEX jobs_ended_at (ended_at),
      CONSTRAINT jobs_resource_group FOREIGN KEY (resource_group_id)
        REFERENCES resource_groups (id) ON UPDATE RESTRICT ON DELETE RESTRICT
    ) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE jobs`.execute(db);
}
