/**
 * `readJobPage`: the next page of the jobs in one state, with their blobs,
 * bounded by rows AND by bytes — how restart recovery reads the table with
 * memory bounded by its settings rather than by the size of the jobs (500
 * rows of 4 MiB inputs would be 2 GiB a page).
 *
 * Two statements: the ids and blob sizes of up to `maxRows` rows (keyset per
 * state on `id`, DECISIONS D8), then the blobs of the longest prefix whose
 * sizes fit in `maxBytes` — always at least one row, so a single job larger
 * than the budget is still read, alone. A row that left the state between the
 * two is skipped (recovery's settling pass looks at such moves).
 */
import { sql } from "kysely";
import { invalidArgument } from "../../core/errors.ts";
import type { JobState } from "../../core/job-state.ts";
import type { Db } from "../connection.ts";
import { runStatement } from "../run-statement.ts";
import { toJobRow, type JobRowWithBlobs } from "./job-row.ts";

export interface ReadJobPageOptions {
  readonly state: JobState;
  /** Only ids above this one (the previous page's `lastId`). Default 0. */
  readonly afterId?: bigint;
  readonly maxRows: number;
  /** Most bytes of blobs (graph, inputs, outputs) in one page, but at least one row. */
  readonly maxBytes: number;
}

export interface JobPage {
  readonly rows: JobRowWithBlobs[];
  /** Bytes of blobs in the page. */
  readonly bytes: number;
  /** Where the next page starts (`afterId`); undefined when the state has no more rows. */
  readonly nextAfterId: bigint | undefined;
}

export async function readJobPage(db: Db, options: ReadJobPageOptions): Promise<JobPage> {
  const { state, afterId = 0n, maxRows, maxBytes } = options;
  if (!Number.isSafeInteger(maxRows) || maxRows < 1) throw invalidArgument(`page size must be a positive integer, got ${maxRows}`);
  if (!(maxBytes >= 1)) throw invalidArgument(`page byte budget must be positive, got ${maxBytes}`);
  return runStatement(db, { operation: `readJobPage ${state}`, writes: false }, async (connection) => {
    const sizes = await sql<{ id: bigint; bytes: bigint | number | string }>`
      SELECT id,
        COALESCE(LENGTH(compressed_serialized_task_graph), 0)
          + COALESCE(LENGTH(compressed_serialized_job_inputs), 0)
          + COALESCE(LENGTH(serialized_job_outputs), 0) AS bytes
      FROM jobs WHERE state = ${state} AND id > ${afterId} ORDER BY id LIMIT ${maxRows}
    `.execute(connection);
    const ids: bigint[] = [];
    let bytes = 0;
    for (const row of sizes.rows) {
      const size = Number(row.bytes);
      if (ids.length > 0 && bytes + size > maxBytes) break;
      ids.push(row.id);
      bytes += size;
    }
    if (ids.length === 0) return { rows: [], bytes: 0, nextAfterId: undefined };
    const rows = await connection.selectFrom("jobs").selectAll().where("id", "in", ids).where("state", "=", state).orderBy("id").execute();
    const more = ids.length < sizes.rows.length || sizes.rows.length === maxRows;
    return { rows: rows.map((row) => toJobRow(row, true) as JobRowWithBlobs), bytes, nextAfterId: more ? ids[ids.length - 1] : undefined };
  });
}
