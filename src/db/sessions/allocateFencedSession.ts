/**
 * `allocateFencedSession`: starts a new session and makes its id the leader
 * fence's epoch, in one transaction (DECISIONS D3, fencing): from its COMMIT
 * on, no fenced write of an earlier session commits. The caller then fences
 * its own writes with the returned id (`setWriteFence`). Session ids only
 * grow, so the fence's epochs do too.
 */
import { sql } from "kysely";
import type { Db } from "../connection.ts";
import { advanceFence } from "../fence/advanceFence.ts";
import { insertIdOf } from "../insert-id.ts";
import { withTransaction } from "../transaction.ts";

export function allocateFencedSession(db: Db): Promise<bigint> {
  return withTransaction(
    db,
    async (trx) => {
      // MySQL has no `DEFAULT VALUES`; the empty column list is its spelling, and kysely cannot say it.
      const session = insertIdOf(await sql`INSERT INTO sessions () VALUES ()`.execute(trx), "sessions");
      await advanceFence(trx, session);
      return session;
    },
    { operation: "allocateFencedSession" },
  );
}
