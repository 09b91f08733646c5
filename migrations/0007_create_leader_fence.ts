import { sql, type Kysely } from "kysely";

/**
 * The leader fence (issue 19, DECISIONS D3): one row per stripe, each holding
 * the epoch of the lease holder allowed to write. Every fenced write also
 * changes one stripe row (`writes = writes + 1`) on the condition that its
 * epoch is the writer's, and a takeover rewrites `epoch` in every stripe: on
 * Galera the two write sets conflict and certification aborts whichever of
 * them commits second; on one MariaDB the row lock orders them. Striped so
 * that concurrent job writes do not all queue on one row lock.
 *
 * The 64 rows are this migration's own (src/db/fence/fence-stripes.ts says
 * FENCE_STRIPES = 64 and a test checks that the two agree): a different count
 * needs a new migration, never an edit of this one.
 */
const STRIPES = 64;

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE leader_fence (
      stripe SMALLINT UNSIGNED NOT NULL,
      epoch BIGINT UNSIGNED NOT NULL,
      writes BIGINT UNSIGNED NOT NULL DEFAULT 0,
      PRIMARY KEY (stripe)
    ) ENGINE = InnoDB
  `.execute(db);
  const rows = Array.from({ length: STRIPES }, (_, stripe) => sql`(${stripe}, 0)`);
  await sql`INSERT INTO leader_fence (stripe, epoch) VALUES ${sql.join(rows)}`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE leader_fence`.execute(db);
}
