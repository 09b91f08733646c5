/**
 * Waits for the database to answer, retrying with capped exponential backoff:
 * a database that is down at start-up is waited for, not fatal (DECISIONS D2).
 */
import { sql } from "kysely";
import { Backoff, sleep } from "../core/backoff.ts";
import type { Logger } from "../observability/logger.ts";
import type { Db } from "./connection.ts";

export interface WaitOptions {
  readonly logger: Logger;
  readonly signal?: AbortSignal;
  readonly initialDelayMs?: number;
  readonly maxDelayMs?: number;
}

export async function waitForDatabase(db: Db, options: WaitOptions): Promise<void> {
  const backoff = new Backoff({ initialMs: options.initialDelayMs ?? 100, maxMs: options.maxDelayMs ?? 5_000 });
  for (let attempt = 1; ; attempt++) {
    try {
      await sql`SELECT 1`.execute(db);
      if (attempt > 1) options.logger.info({ attempt }, "database reachable");
      return;
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason ?? error;
      const delay = backoff.next();
      options.logger.warn({ attempt, retryInMs: delay, err: error }, "database not reachable yet; retrying");
      await sleep(delay, options.signal);
    }
  }
}
