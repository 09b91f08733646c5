/**
 * The per-row invariants of the jobs table that `doctor` checks, as SQL
 * conditions, and the two queries that run them: one scan counting every
 * check at once, then a sample of ids for each check that found rows.
 */
import { sql, type RawBuilder } from "kysely";
import type { Db } from "../../db/connection.ts";
import { QUARANTINE_PREFIX } from "../../db/jobs/quarantineJob.ts";
import { runStatement } from "../../db/run-statement.ts";

export type Severity = "error" | "warning" | "info";

export interface JobRowCheck {
  /** Stable name, used in --json and the runbook. */
  readonly check: string;
  readonly severity: Severity;
  /** Rows matching this break the invariant. */
  readonly where: RawBuilder<unknown>;
  /** "N jobs …" continues with this. */
  readonly message: string;
  readonly fix: string;
}

const TERMINAL = sql`state IN ('Succeeded', 'Failed', 'Cancelled')`;

export const JOB_ROW_CHECKS: readonly JobRowCheck[] = [
  {
    check: "commit-ready-without-outputs",
    severity: "error",
    where: sql`state = 'CommitReady' AND serialized_job_outputs IS NULL`,
    message: "are CommitReady without stored job outputs: the commit task has nothing to read and a restart quarantines them",
    fix: "spider-storage jobs fail ID --reason 'outputs lost' (or restart: recovery quarantines them)",
  },
  {
    check: "succeeded-without-outputs",
    severity: "error",
    where: sql`state = 'Succeeded' AND serialized_job_outputs IS NULL`,
    message: "are Succeeded without stored job outputs: GetJobOutputs cannot answer for them",
    fix: "if still cached, spider-storage verify --repair copies the outputs back; otherwise the outputs are lost",
  },
  {
    check: "failed-without-error",
    severity: "error",
    where: sql`state = 'Failed' AND error_message IS NULL`,
    message: "are Failed without an error message",
    fix: "inspect with spider-storage jobs show ID",
  },
  {
    check: "terminal-without-end-time",
    severity: "error",
    where: sql`${TERMINAL} AND ended_at IS NULL`,
    message: "are terminal without an end time: GC never deletes them",
    fix: "inspect with spider-storage jobs show ID",
  },
  {
    check: "live-with-end-time",
    severity: "error",
    where: sql`NOT ${TERMINAL} AND ended_at IS NOT NULL`,
    message: "are not terminal but have an end time",
    fix: "inspect with spider-storage jobs show ID; spider-storage jobs fail ID if it is corrupt",
  },
  {
    check: "outputs-before-commit",
    severity: "error",
    where: sql`state IN ('Ready', 'Running') AND serialized_job_outputs IS NOT NULL`,
    message: "are Ready or Running but already have job outputs",
    fix: "inspect with spider-storage jobs show ID; spider-storage jobs fail ID if it is corrupt",
  },
  {
    check: "error-on-non-failed-job",
    severity: "warning",
    where: sql`state <> 'Failed' AND error_message IS NOT NULL`,
    message: "are not Failed but carry an error message",
    fix: "inspect with spider-storage jobs show ID",
  },
  {
    check: "quarantined-jobs",
    severity: "warning",
    where: sql`state = 'Failed' AND error_message LIKE ${`${QUARANTINE_PREFIX}%`}`,
    message: "were quarantined by recovery (their rows could not be loaded; the reason is their error message)",
    fix: "spider-storage jobs show ID for the reason; spider-storage jobs retry ID once fixed, or leave them to GC",
  },
];

/** One scan of the jobs table: how many rows each check matches. */
export async function countJobRowViolations(db: Db): Promise<number[]> {
  return runStatement(db, { operation: "countJobRowViolations", writes: false }, async (connection) => {
    const columns = JOB_ROW_CHECKS.map((check, i) => sql`COALESCE(SUM(CASE WHEN ${check.where} THEN 1 ELSE 0 END), 0) AS ${sql.raw(`c${i}`)}`);
    const result = await sql<Record<string, bigint | string>>`SELECT ${sql.join(columns)} FROM jobs`.execute(connection);
    const row = result.rows[0] ?? {};
    return JOB_ROW_CHECKS.map((_, i) => Number(row[`c${i}`] ?? 0));
  });
}

/** Up to `limit` ids of jobs matching a check, in id order. */
export async function sampleJobIds(db: Db, check: JobRowCheck, limit: number): Promise<bigint[]> {
  return runStatement(db, { operation: `sampleJobIds ${check.check}`, writes: false }, async (connection) => {
    const result = await sql<{ id: bigint }>`SELECT id FROM jobs WHERE ${check.where} ORDER BY id LIMIT ${limit}`.execute(connection);
    return result.rows.map((row) => row.id);
  });
}
