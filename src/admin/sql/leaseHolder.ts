/**
 * `leaseHolder`: the MariaDB connection id holding this database's
 * single-writer lease (DECISIONS D3), or undefined when no server holds it.
 */
import { sql } from "kysely";
import type { Db } from "../../db/connection.ts";
import { leaseName } from "../../db/lease.ts";
import { runStatement } from "../../db/run-statement.ts";

export async function leaseHolder(db: Db): Promise<{ name: string; holder: bigint | undefined }> {
  return runStatement(db, { operation: "leaseHolder", writes: false }, async (connection) => {
    const database = await sql<{ name: string | null }>`SELECT DATABASE() AS name`.execute(connection);
    const name = leaseName(database.rows[0]?.name ?? "");
    const result = await sql<{ holder: bigint | number | string | null }>`SELECT IS_USED_LOCK(${name}) AS holder`.execute(connection);
    const holder = result.rows[0]?.holder;
    return { name, holder: holder === null || holder === undefined ? undefined : BigInt(holder) };
  });
}
