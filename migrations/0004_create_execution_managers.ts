import { sql, type Kysely } from "kysely";

/**
 * Execution managers and their liveness (spec §4.5). As Spider's table
 * (spec §2.1) except that timestamps are TIMESTAMP(3), so a stale cut-off
 * below one second means something (Spider compares whole seconds), and the
 * table is utf8mb4. The `(state, last_heartbeat_at)` index finds stale Alive
 * rows; the sweep then locks them by primary key only (spec issue #371,
 * src/db/execution-managers/reapDeadExecutionManagers.ts).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE execution_managers (
      id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
      ip_address VARCHAR(45) NOT NULL,
      state ENUM('Alive', 'Dead') NOT NULL DEFAULT 'Alive',
      last_heartbeat_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      created_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      death_confirmed_at TIMESTAMP(3) NULL DEFAULT NULL,
      PRIMARY KEY (id),
      INDEX execution_manager_liveness (state, last_heartbeat_at)
    ) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE execution_managers`.execute(db);
}
