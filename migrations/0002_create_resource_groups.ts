import { sql, type Kysely } from "kysely";

/**
 * Resource groups: a caller-chosen unique name and a password.
 *
 * Differs from Spider's table (spec §2.1) on purpose:
 * - `password_hash VARBINARY(256)` instead of `password VARBINARY(2048)`: we
 *   never store the password, only `scrypt$N$r$p$<salt>$<hash>` (base64 salt
 *   and hash, about 120 bytes; 256 leaves room for stronger parameters). The
 *   parameters travel with each hash, so they can be raised later without a
 *   migration. Passwords are still accepted up to 2048 bytes.
 * - utf8mb4 with a binary collation: names compare exactly, byte for byte
 *   ("Team" and "team" are two groups), whatever the server's default charset.
 * - `created_at`, for operators.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE resource_groups (
      id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
      external_id VARCHAR(256) NOT NULL,
      password_hash VARBINARY(256) NOT NULL,
      created_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      PRIMARY KEY (id),
      UNIQUE INDEX resource_groups_external_id (external_id)
    ) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE resource_groups`.execute(db);
}
