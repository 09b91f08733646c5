/** `listSchedulers`: the registered schedulers (at most one in practice), in id order. */
import type { Db } from "../connection.ts";
import { runStatement } from "../run-statement.ts";

export interface SchedulerRow {
  readonly id: bigint;
  readonly host: string;
  readonly port: number;
  readonly createdAt: Date;
}

export async function listSchedulers(db: Db): Promise<SchedulerRow[]> {
  return runStatement(db, { operation: "listSchedulers", writes: false }, async (connection) => {
    const rows = await connection.selectFrom("schedulers").selectAll().orderBy("id").execute();
    return rows.map((row) => ({ id: row.id, host: row.host, port: row.port, createdAt: row.created_at }));
  });
}
