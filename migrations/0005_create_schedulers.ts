import { sql, type Kysely } from "kysely";

/**
 * Schedulers (spec §4.6): each registration replaces every row. As Spider's
 * table (spec §2.1) with `created_at` at TIMESTAMP(3) and utf8mb4.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE schedulers (
      id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
      host VARCHAR(255) NOT NULL,
      port SMALLINT UNSIGNED NOT NULL,
      created_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      PRIMARY KEY (id)
    ) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE schedulers`.execute(db);
}
