/**
 * The engine's per-job writes to `jobs` — a state move with the columns that
 * go with it, alone or for a batch of jobs — as SQL text with parameters
 * rather than built with kysely on every call (issue 20.4). On the group-commit
 * path these statements run for every job; building and compiling the query
 * cost more CPU than the rest of its trip through the driver
 * (bench/micro/job-statements.ts). The text is what kysely compiles for the
 * same query, checked by test/unit/db/job-update-statements.test.ts.
 */
import { CompiledQuery } from "kysely";
import { internal } from "../../core/errors.ts";
import { isTerminal, type JobState } from "../../core/job-state.ts";
import { asBuffer } from "../bytes.ts";

/** What a move writes besides the state (transitionJob's request, or one job of a batch). */
export interface JobMovePayload {
  /** Raw SerializedTaskOutputs (to CommitReady, or Succeeded from Running). */
  readonly outputs?: Uint8Array;
  /** To Failed only. */
  readonly errorMessage?: string;
}

/** Stands for the statement's own clock, `CURRENT_TIMESTAMP(3)`, among the values. */
const NOW = Symbol("CURRENT_TIMESTAMP(3)");

/** A `set` list and its parameters, in order. */
interface SetClause {
  readonly text: string;
  readonly parameters: unknown[];
}

/**
 * The columns a move from `from` to `to` writes:
 * - entering a terminal state sets `ended_at`;
 * - leaving one (an operator's retry of a Failed job) clears `ended_at`, the
 *   error message and the outputs, so the row looks like any Running job;
 * - the outputs and the error message, when given.
 */
function setClause(jobId: bigint, from: JobState, to: JobState, payload: JobMovePayload): SetClause {
  if (payload.outputs === undefined && (to === "CommitReady" || (to === "Succeeded" && from === "Running"))) {
    throw internal(`job ${jobId}: moving from ${from} to ${to} needs the job's outputs`);
  }
  // A Map keeps a column where it was first set, as kysely's object of changes did.
  const values = new Map<string, unknown>([["state", to]]);
  if (isTerminal(to)) {
    values.set("ended_at", NOW);
  } else if (isTerminal(from)) {
    values.set("ended_at", null);
    values.set("error_message", null);
    values.set("serialized_job_outputs", null);
  }
  if (payload.outputs !== undefined) values.set("serialized_job_outputs", asBuffer(payload.outputs));
  if (payload.errorMessage !== undefined) values.set("error_message", payload.errorMessage);
  const columns: string[] = [];
  const parameters: unknown[] = [];
  for (const [column, value] of values) {
    if (value === NOW) {
      columns.push(`\`${column}\` = CURRENT_TIMESTAMP(3)`);
    } else {
      columns.push(`\`${column}\` = ?`);
      parameters.push(value);
    }
  }
  return { text: columns.join(", "), parameters };
}

/** One job from `from` to `to`, only if it is in `from`: the fast path's conditional UPDATE. */
export function moveJobIfInState(jobId: bigint, from: JobState, to: JobState, payload: JobMovePayload): CompiledQuery {
  const set = setClause(jobId, from, to, payload);
  return CompiledQuery.raw(`update \`jobs\` set ${set.text} where \`id\` = ? and \`state\` = ?`, [...set.parameters, jobId, from]);
}

/**
 * {@link moveJobIfInState} for a fenced writer: joined with the job's fence
 * stripe on the writer's epoch and bumping it, so it changes both rows or
 * neither (the job row is locked before the stripe, the order checkFence takes).
 */
export function moveJobIfInStateFenced(jobId: bigint, from: JobState, to: JobState, payload: JobMovePayload, stripe: number, epoch: bigint): CompiledQuery {
  const set = setClause(jobId, from, to, payload);
  return CompiledQuery.raw(
    `update \`jobs\`, \`leader_fence\` set ${set.text}, \`writes\` = writes + 1 ` +
      "where `jobs`.`id` = ? and `jobs`.`state` = ? and `leader_fence`.`stripe` = ? and `leader_fence`.`epoch` = ?",
    [...set.parameters, jobId, from, stripe, epoch],
  );
}

/** One job, already locked in `from` by the caller's transaction, to `to`. */
export function moveLockedJob(jobId: bigint, from: JobState, to: JobState, payload: JobMovePayload): CompiledQuery {
  const set = setClause(jobId, from, to, payload);
  return CompiledQuery.raw(`update \`jobs\` set ${set.text} where \`id\` = ?`, [...set.parameters, jobId]);
}

/** One job of a batch: its id and what its move writes. */
export interface BatchedMove extends JobMovePayload {
  readonly jobId: bigint;
}

/**
 * Several distinct jobs from `from` to `to` in one statement, each with its
 * own outputs or message (a `CASE` on the id); when `fence` is given, joined
 * with that one stripe on the writer's epoch and bumping it.
 */
export function moveJobsInState(from: JobState, to: JobState, moves: readonly BatchedMove[], fence?: { readonly stripe: number; readonly epoch: bigint }): CompiledQuery {
  const columns = ["`state` = ?"];
  const parameters: unknown[] = [to];
  if (isTerminal(to)) columns.push("`ended_at` = CURRENT_TIMESTAMP(3)");
  const perJob = (column: string, value: (move: BatchedMove) => unknown) => {
    columns.push(`\`${column}\` = CASE jobs.id ${moves.map(() => "WHEN ? THEN ?").join(" ")} END`);
    for (const move of moves) parameters.push(move.jobId, value(move));
  };
  if (moves.some((move) => move.outputs !== undefined)) perJob("serialized_job_outputs", (move) => (move.outputs === undefined ? null : asBuffer(move.outputs)));
  if (moves.some((move) => move.errorMessage !== undefined)) perJob("error_message", (move) => move.errorMessage ?? null);
  const ids = moves.map(() => "?").join(", ");
  for (const move of moves) parameters.push(move.jobId);
  parameters.push(from);
  if (fence === undefined) {
    return CompiledQuery.raw(`update \`jobs\` set ${columns.join(", ")} where \`id\` in (${ids}) and \`state\` = ?`, parameters);
  }
  parameters.push(fence.stripe, fence.epoch);
  return CompiledQuery.raw(
    `update \`jobs\`, \`leader_fence\` set ${columns.join(", ")}, \`writes\` = writes + 1 ` +
      `where \`jobs\`.\`id\` in (${ids}) and \`jobs\`.\`state\` = ? and \`leader_fence\`.\`stripe\` = ? and \`leader_fence\`.\`epoch\` = ?`,
    parameters,
  );
}
