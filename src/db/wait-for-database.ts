/**
 * Waits for the database to answer, retrying with capped exponential backoff:
 * a database that is down at start-up is waited for, not fatal (DECISIONS D2).
 */
import { sql } from "kysely";
import type { Logger } from "../observability/logger.ts";
import type { Db } from "./connection.ts";

export interface WaitOptions {
  readonly logger: Logger;
  readonly signal?: AbortSignal;
  readonly initialDelayMs?: number;
  readonly maxDelayMs?: number;
}

export async function waitForDatabase(db: Db, options: WaitOptions): Promise<void> {
  let delay = options.initialDelayMs ?? 100;
  const maxDelay = options.maxDelayMs ?? 5_000;
  for (let attempt = 1; ; attempt++) {
    try {
      await sql`SELECT 1`.execute(db);
      if (attempt > 1) options.logger.info({ attempt }, "database reachable");
      return;
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason ?? error;
      options.logger.warn({ attempt, retryInMs: delay, err: error }, "database not reachable yet; retrying");
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(maxDelay, delay * 2);
    }
  }
}
