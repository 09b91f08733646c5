/**
 * `ensureLeaseTable`: creates the leader lease's table and its one row if
 * they are missing (DECISIONS D3). Not a migration: the lease decides which
 * server may run the migrations, so it must exist before them. Both
 * statements are idempotent, so servers starting together on an empty
 * database (on Galera, on different nodes) may all run them: the CREATE is
 * replicated in total order, and of two INSERTs of row 1 one is ignored (or
 * fails certification and is retried, then ignored).
 *
 * The row starts expired, at epoch 0: the first server to look takes it.
 */
import { sql } from "kysely";
import type { Db } from "../connection.ts";
import { runStatement } from "../run-statement.ts";

/** The expiry of a lease nobody holds. */
export const NEVER_HELD = "1970-01-01 00:00:01";

export async function ensureLeaseTable(db: Db): Promise<void> {
  await runStatement(db, { operation: "ensureLeaseTable", writes: true, idempotent: true }, async (connection) => {
    await sql`
      CREATE TABLE IF NOT EXISTS leader_lease (
        id TINYINT UNSIGNED NOT NULL PRIMARY KEY,
        epoch BIGINT UNSIGNED NOT NULL,
        holder VARCHAR(255) NOT NULL,
        expires_at DATETIME(6) NOT NULL,
        renewed_at DATETIME(6) NOT NULL
      ) ENGINE = InnoDB`.execute(connection);
    await sql`
      INSERT IGNORE INTO leader_lease (id, epoch, holder, expires_at, renewed_at)
      VALUES (1, 0, '', ${NEVER_HELD}, ${NEVER_HELD})`.execute(connection);
  });
}
