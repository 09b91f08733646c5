/**
 * `leaseHolder`: the MariaDB connection id holding this database's
 * single-writer lease (DECISIONS D3), or undefined when no server holds it.
 */
import type { Db } from "../connection.ts";
import { leaseName } from "../lease.ts";
import { runStatement } from "../run-statement.ts";

export async function leaseHolder(db: Db): Promise<{ name: string; holder: bigint | undefined }> {
  return runStatement(db, { operation: "leaseHolder", writes: false }, async (connection) => {
    const database = await connection.selectNoFrom((eb) => eb.fn<string | null>("database", []).as("name")).executeTakeFirst();
    const name = leaseName(database?.name ?? "");
    const result = await connection
      .selectNoFrom((eb) => eb.fn<bigint | number | string | null>("is_used_lock", [eb.val(name)]).as("holder"))
      .executeTakeFirst();
    const holder = result?.holder;
    return { name, holder: holder === null || holder === undefined ? undefined : BigInt(holder) };
  });
}
