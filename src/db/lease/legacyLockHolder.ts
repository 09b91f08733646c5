/**
 * `legacyLockHolder`: the MariaDB connection holding the lease of versions
 * before the lease row — `GET_LOCK('spider-storage:<database>')` — or
 * undefined. A server of this version does not take the lease row while an
 * older server holds that lock (a rolling upgrade on one MariaDB), so the two
 * never serve together.
 */
import { createHash } from "node:crypto";
import { sql } from "kysely";
import type { Db } from "../connection.ts";

/** `spider-storage:<database>`, hashed when longer than MariaDB's 64-character limit, as those versions named it. */
export function legacyLockName(database: string): string {
  const name = `spider-storage:${database}`;
  if (name.length <= 64) return name;
  return `spider-storage:${createHash("sha256").update(database).digest("hex").slice(0, 40)}`;
}

export async function legacyLockHolder(db: Db, database: string): Promise<bigint | undefined> {
  const { rows } = await sql<{ holder: number | string | null }>`SELECT IS_USED_LOCK(${legacyLockName(database)}) AS holder`.execute(db);
  const holder = rows[0]?.holder;
  return holder === null || holder === undefined ? undefined : BigInt(holder);
}
