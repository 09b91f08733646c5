/**
 * `registerScheduler`: the single-scheduler model (spec §4.6) — in one
 * transaction, delete every scheduler row and insert this one; returns the new
 * id (always fresh, even for the same host and port).
 */
import { invalidArgument } from "../../core/errors.ts";
import type { Db } from "../connection.ts";
import { withTransaction } from "../transaction.ts";
import { insertIdOf } from "../insert-id.ts";

export const MAX_SCHEDULER_HOST_CHARS = 255;

export async function registerScheduler(db: Db, host: string, port: number): Promise<bigint> {
  if (host.length === 0 || [...host].length > MAX_SCHEDULER_HOST_CHARS) {
    throw invalidArgument(`scheduler host must be 1 to ${MAX_SCHEDULER_HOST_CHARS} characters`);
  }
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw invalidArgument(`scheduler port ${port} is out of range`);
  return withTransaction(
    db,
    async (trx) => {
      await trx.deleteFrom("schedulers").execute();
      const result = await trx.insertInto("schedulers").values({ host, port }).executeTakeFirstOrThrow();
      return insertIdOf(result, "schedulers");
    },
    { operation: "registerScheduler" },
  );
}
