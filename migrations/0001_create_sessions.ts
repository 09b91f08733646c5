import { sql, type Kysely } from "kysely";

/**
 * One row per server lifetime; its auto-increment id is the session id that
 * fences task-instance calls from earlier lifetimes. `started_at` is ours (not
 * in Spider's schema): operators can see when each session began.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE sessions (
      session_id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
      started_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
    ) ENGINE = InnoDB
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE sessions`.execute(db);
}
