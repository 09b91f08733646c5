/**
 * `listJobsByState`: one page of the jobs in one state, in id order — how
 * recovery and operator tools walk the table with bounded memory. Keyset
 * paging per state: `WHERE state = ? AND id > ? ORDER BY id LIMIT ?` on the
 * `(state, id)` index. Never `(state, id) > (?, ?)`: on an ENUM that compares
 * strings and skips rows (DECISIONS D8). Pass the last id of a page as the
 * next `afterId`; a page shorter than `limit` is the last.
 */
import { invalidArgument } from "../../core/errors.ts";
import type { JobState } from "../../core/job-state.ts";
import type { Db } from "../connection.ts";
import { runStatement } from "../run-statement.ts";
import { JOB_COLUMNS, toJobRow, type JobRow, type JobRowWithBlobs } from "./job-row.ts";

export interface ListJobsByStateOptions {
  readonly state: JobState;
  /** Only ids above this one. Default 0 (from the start). */
  readonly afterId?: bigint;
  readonly limit: number;
  /** Also read the task graph, inputs and outputs. Default false. */
  readonly withBlobs?: boolean;
}

export async function listJobsByState(
  db: Db,
  options: ListJobsByStateOptions & { readonly withBlobs: true },
): Promise<JobRowWithBlobs[]>;
export async function listJobsByState(db: Db, options: ListJobsByStateOptions): Promise<JobRow[]>;
export async function listJobsByState(db: Db, options: ListJobsByStateOptions): Promise<JobRow[]> {
  const { state, afterId = 0n, limit } = options;
  const withBlobs = options.withBlobs ?? false;
  if (!Number.isSafeInteger(limit) || limit < 1) throw invalidArgument(`page size must be a positive integer, got ${limit}`);
  return runStatement(db, { operation: `listJobsByState ${state}`, writes: false }, async (connection) => {
    const query = connection
      .selectFrom("jobs")
      .where("state", "=", state)
      .where("id", ">", afterId)
      .orderBy("id")
      .limit(limit);
    const rows = withBlobs ? await query.selectAll().execute() : await query.select(JOB_COLUMNS).execute();
    return rows.map((row) => toJobRow(row, withBlobs));
  });
}
