/**
 * `insertJob`: stores a newly submitted job in state Ready (spec §2.2
 * `register`). One autocommit INSERT; the id is the OK packet's insert id (no
 * RETURNING, DECISIONS D8). The resource group's existence is the foreign
 * key's business: a missing one is "invalid resource group", as in Spider.
 */
import { CompiledQuery } from "kysely";
import { StorageError } from "../../core/errors.ts";
import { asBuffer } from "../bytes.ts";
import type { Db } from "../connection.ts";
import { dbErrno, ER_NO_REFERENCED_ROW } from "../db-errors.ts";
import { runStatement } from "../run-statement.ts";
import { insertIdOf } from "../insert-id.ts";

export interface NewJob {
  readonly resourceGroupId: bigint;
  /** The client's bytes, verbatim. */
  readonly compressedTaskGraph: Uint8Array;
  /** The client's bytes, verbatim. */
  readonly compressedInputs: Uint8Array;
}

/** The `jobs` row of a new job (Ready by the column's default); insertJobs writes several. */
export function newJobRow(job: NewJob) {
  return {
    resource_group_id: job.resourceGroupId,
    compressed_serialized_task_graph: asBuffer(job.compressedTaskGraph),
    compressed_serialized_job_inputs: asBuffer(job.compressedInputs),
  };
}

export async function insertJob(db: Db, job: NewJob): Promise<bigint> {
  return runStatement(db, { operation: "insertJob", writes: true }, async (connection) => {
    try {
      // As SQL text, not built per call (issue 20.4): a batch of one (an idle server's every
      // RegisterJob) and group commit off take this path.
      return insertIdOf(await connection.executeQuery(insertJobStatement(job)), "jobs");
    } catch (error) {
      if (dbErrno(error) === ER_NO_REFERENCED_ROW) {
        throw new StorageError("unauthenticated", "invalid resource group", { cause: error });
      }
      throw error;
    }
  });
}

/** The INSERT of new `jobs` rows up to VALUES (what kysely compiles for newJobRow's columns); one "(?, ?, ?)" per row follows. */
export const INSERT_JOBS_SQL = "insert into `jobs` (`resource_group_id`, `compressed_serialized_task_graph`, `compressed_serialized_job_inputs`) values ";

/** newJobRow's values, in INSERT_JOBS_SQL's column order. */
export function newJobParameters(job: NewJob): [bigint, Buffer, Buffer] {
  const row = newJobRow(job);
  return [row.resource_group_id, row.compressed_serialized_task_graph, row.compressed_serialized_job_inputs];
}

/** The single-row INSERT of `jobs`. */
export function insertJobStatement(job: NewJob): CompiledQuery<never> {
  return CompiledQuery.raw(`${INSERT_JOBS_SQL}(?, ?, ?)`, newJobParameters(job));
}
