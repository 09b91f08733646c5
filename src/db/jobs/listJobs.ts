/**
 * `listJobs`: one page of jobs for `jobs list`, filtered by state, resource
 * group and age (database clock), in id order — or newest first (the web
 * console). Keyset paging on the primary key: `id > afterId … ORDER BY id
 * LIMIT n`, newest first `id < afterId … ORDER BY id DESC` (never a tuple
 * comparison on the state ENUM, DECISIONS D8). Blobs are never read.
 */
import { sql } from "kysely";
import type { JobState } from "../../core/job-state.ts";
import type { Db } from "../connection.ts";
import { JOB_COLUMNS, toJobRow, type JobRow } from "./job-row.ts";
import { runStatement } from "../run-statement.ts";

export interface ListJobsFilter {
  /** Any of these states; all states when empty. */
  readonly states: readonly JobState[];
  readonly resourceGroupId?: bigint;
  /** Created at least this many ms ago (0: no bound). */
  readonly olderThanMs: number;
  /** Created at most this many ms ago (0: no bound). */
  readonly newerThanMs: number;
  /** The last id of the previous page (0: the first page); the page continues after it in the listing's order. */
  readonly afterId: bigint;
  readonly limit: number;
  /** Highest id first (default: lowest first). */
  readonly newestFirst?: boolean;
}

export async function listJobs(db: Db, filter: ListJobsFilter): Promise<JobRow[]> {
  return runStatement(db, { operation: "listJobs", writes: false }, async (connection) => {
    let query = connection.selectFrom("jobs").select(JOB_COLUMNS);
    if (!filter.newestFirst) query = query.where("id", ">", filter.afterId);
    else if (filter.afterId > 0n) query = query.where("id", "<", filter.afterId);
    if (filter.states.length > 0) query = query.where("state", "in", filter.states);
    if (filter.resourceGroupId !== undefined) query = query.where("resource_group_id", "=", filter.resourceGroupId);
    if (filter.olderThanMs > 0) {
      query = query.where("created_at", "<=", sql<Date>`CURRENT_TIMESTAMP(3) - INTERVAL ${filter.olderThanMs * 1000} MICROSECOND`);
    }
    if (filter.newerThanMs > 0) {
      query = query.where("created_at", ">=", sql<Date>`CURRENT_TIMESTAMP(3) - INTERVAL ${filter.newerThanMs * 1000} MICROSECOND`);
    }
    const rows = await query.orderBy("id", filter.newestFirst ? "desc" : "asc").limit(filter.limit).execute();
    return rows.map((row) => toJobRow(row, false));
  });
}
