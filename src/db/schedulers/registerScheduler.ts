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

/**
 * 1 to MAX_SCHEDULER_HOST_CHARS characters (code points, as the column counts
 * them), decided from `length` (UTF-16 units) alone unless the answer depends
 * on surrogate pairs: then at most 2 × the cap units are walked.
 */
export function hostFits(host: string): boolean {
  if (host.length === 0 || host.length > 2 * MAX_SCHEDULER_HOST_CHARS) return false;
  if (host.length <= MAX_SCHEDULER_HOST_CHARS) return true;
  let chars = 0;
  for (const _ of host) chars += 1;
  return chars <= MAX_SCHEDULER_HOST_CHARS;
}

export async function registerScheduler(db: Db, host: string, port: number): Promise<bigint> {
  if (!hostFits(host)) {
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
