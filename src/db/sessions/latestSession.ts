/**
 * `latestSession`: the newest session, or undefined before any server ran on
 * this database. Read as text: the lease's own connection (`Lease.db`), where
 * a restarted server checks that nobody ran meanwhile, reads BIGINT as a
 * plain number.
 */
import type { Db } from "../connection.ts";

export async function latestSession(db: Db): Promise<bigint | undefined> {
  const row = await db
    .selectFrom("sessions")
    .select((eb) => eb.cast<string | null>(eb.fn.max("session_id"), "char").as("id"))
    .executeTakeFirst();
  return row?.id === null || row?.id === undefined ? undefined : BigInt(row.id);
}
