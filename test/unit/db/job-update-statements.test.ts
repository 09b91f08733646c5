/**
 * The engine's per-job statements on `jobs` are written as SQL text (issue
 * 20.4); each must be exactly what kysely compiles for the query it replaces,
 * parameters included, for every shape the engine sends.
 */
import { Kysely, MysqlDialect, sql, type Compilable, type CompiledQuery } from "kysely";
import { describe, expect, it } from "vitest";
import { JOB_STATES, isTerminal, type JobState } from "../../../src/core/job-state.ts";
import type { DatabaseSchema } from "../../../src/db/schema.ts";
import { moveJobIfInState, moveJobIfInStateFenced, moveJobsInState, moveLockedJob, type BatchedMove, type JobMovePayload } from "../../../src/db/jobs/job-update-statements.ts";
import { insertJobsStatement } from "../../../src/db/jobs/insertJobs.ts";
import { insertJobStatement, newJobRow, type NewJob } from "../../../src/db/jobs/insertJob.ts";

// Compiles only: the pool is never asked for a connection.
const db = new Kysely<DatabaseSchema>({ dialect: new MysqlDialect({ pool: { getConnection: () => undefined, end: () => undefined } as never }) });

const OUTPUTS = new Uint8Array([1, 2, 3]);

/** The changes kysely's builder was given before (the rules the statements must keep). */
function changes(from: JobState, to: JobState, payload: JobMovePayload): Record<string, unknown> {
  const result: Record<string, unknown> = { state: to };
  if (isTerminal(to)) {
    result["ended_at"] = sql`CURRENT_TIMESTAMP(3)`;
  } else if (isTerminal(from)) {
    result["ended_at"] = null;
    result["error_message"] = null;
    result["serialized_job_outputs"] = null;
  }
  if (payload.outputs !== undefined) result["serialized_job_outputs"] = Buffer.from(payload.outputs);
  if (payload.errorMessage !== undefined) result["error_message"] = payload.errorMessage;
  return result;
}

/** A statement's text and parameters, from kysely's builder or our CompiledQuery. */
function compiled(query: Compilable | CompiledQuery): { sql: string; parameters: readonly unknown[] } {
  const { sql: text, parameters } = "compile" in query ? query.compile() : query;
  return { sql: text, parameters };
}

/** Every (from, to) pair with the payload the move carries. */
function moves(): { from: JobState; to: JobState; payload: JobMovePayload }[] {
  const out: { from: JobState; to: JobState; payload: JobMovePayload }[] = [];
  for (const from of JOB_STATES) {
    for (const to of JOB_STATES) {
      const payload: JobMovePayload =
        to === "Failed" ? { errorMessage: "boom" } : to === "CommitReady" || (to === "Succeeded" && from === "Running") ? { outputs: OUTPUTS } : {};
      out.push({ from, to, payload });
    }
  }
  return out;
}

describe("the job statements written as SQL text", () => {
  it("move one job only if it is in a state: the text and parameters kysely compiles, fenced or not", () => {
    for (const { from, to, payload } of moves()) {
      expect(compiled(moveJobIfInState(7n, from, to, payload))).toEqual(
        compiled(db.updateTable("jobs").set(changes(from, to, payload)).where("id", "=", 7n).where("state", "=", from)),
      );
      expect(compiled(moveJobIfInStateFenced(7n, from, to, payload, 3, 9n))).toEqual(
        compiled(
          db
            .updateTable(["jobs", "leader_fence"])
            .set({ ...changes(from, to, payload), writes: sql`writes + 1` })
            .where("jobs.id", "=", 7n)
            .where("jobs.state", "=", from)
            .where("leader_fence.stripe", "=", 3)
            .where("leader_fence.epoch", "=", 9n),
        ),
      );
      expect(compiled(moveLockedJob(7n, from, to, payload))).toEqual(compiled(db.updateTable("jobs").set(changes(from, to, payload)).where("id", "=", 7n)));
    }
  });

  it("move a batch with per-job outputs or messages: the text and parameters kysely compiles, fenced or not", () => {
    const batches: [JobState, JobState, BatchedMove[]][] = [
      ["Ready", "Running", [{ jobId: 1n }, { jobId: 2n }]],
      ["Running", "Succeeded", [{ jobId: 1n, outputs: OUTPUTS }, { jobId: 2n, outputs: new Uint8Array([9]) }]],
      ["Running", "CommitReady", [{ jobId: 5n, outputs: OUTPUTS }]],
      ["Running", "Failed", [{ jobId: 1n, errorMessage: "a" }, { jobId: 3n, errorMessage: "b" }]],
      ["CleanupReady", "Succeeded", [{ jobId: 4n }]],
    ];
    const caseOf = (batch: BatchedMove[], value: (move: BatchedMove) => unknown) =>
      sql`CASE jobs.id ${sql.join(
        batch.map((move) => sql`WHEN ${move.jobId} THEN ${value(move)}`),
        sql` `,
      )} END`;
    for (const [from, to, batch] of batches) {
      const set: Record<string, unknown> = { state: to };
      if (isTerminal(to)) set["ended_at"] = sql`CURRENT_TIMESTAMP(3)`;
      if (batch.some((move) => move.outputs !== undefined)) set["serialized_job_outputs"] = caseOf(batch, (move) => (move.outputs === undefined ? null : Buffer.from(move.outputs)));
      if (batch.some((move) => move.errorMessage !== undefined)) set["error_message"] = caseOf(batch, (move) => move.errorMessage ?? null);
      const ids = batch.map((move) => move.jobId);
      expect(compiled(moveJobsInState(from, to, batch))).toEqual(compiled(db.updateTable("jobs").set(set).where("id", "in", ids).where("state", "=", from)));
      expect(compiled(moveJobsInState(from, to, batch, { stripe: 2, epoch: 11n }))).toEqual(
        compiled(
          db
            .updateTable(["jobs", "leader_fence"])
            .set({ ...set, writes: sql`writes + 1` })
            .where("jobs.id", "in", ids)
            .where("jobs.state", "=", from)
            .where("leader_fence.stripe", "=", 2)
            .where("leader_fence.epoch", "=", 11n),
        ),
      );
    }
  });

  it("insert several jobs returning their ids: the text and parameters kysely compiles", () => {
    const jobs: NewJob[] = [1n, 2n, 3n].map((group) => ({ resourceGroupId: group, compressedTaskGraph: new Uint8Array([Number(group)]), compressedInputs: OUTPUTS }));
    for (const n of [1, 3]) {
      expect(compiled(insertJobsStatement(jobs.slice(0, n)))).toEqual(compiled(db.insertInto("jobs").values(jobs.slice(0, n).map(newJobRow)).returning("id")));
    }
  });

  it("insert one job: the text and parameters kysely compiles", () => {
    const job: NewJob = { resourceGroupId: 18446744073709551615n, compressedTaskGraph: new Uint8Array([9, 8]), compressedInputs: OUTPUTS };
    expect(compiled(insertJobStatement(job))).toEqual(compiled(db.insertInto("jobs").values(newJobRow(job))));
  });

  it("refuses a move to CommitReady without outputs before any statement is made", () => {
    expect(() => moveJobIfInState(7n, "Running", "CommitReady", {})).toThrow(/needs the job's outputs/);
  });
});
