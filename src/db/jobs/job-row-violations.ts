/**
 * The per-row invariants of the jobs table that `doctor` checks, each as the
 * condition a row breaking it matches, by the check's stable name.
 */
import type { Expression, ExpressionBuilder, SqlBool } from "kysely";
import { TERMINAL_STATES } from "../../core/job-state.ts";
import type { DatabaseSchema } from "../schema.ts";
import { QUARANTINE_PREFIX } from "./quarantineJob.ts";

type JobCondition = (eb: ExpressionBuilder<DatabaseSchema, "jobs">) => Expression<SqlBool>;

export const JOB_ROW_VIOLATIONS = {
  "commit-ready-without-outputs": (eb) => eb.and([eb("state", "=", "CommitReady"), eb("serialized_job_outputs", "is", null)]),
  "succeeded-without-outputs": (eb) => eb.and([eb("state", "=", "Succeeded"), eb("serialized_job_outputs", "is", null)]),
  "failed-without-error": (eb) => eb.and([eb("state", "=", "Failed"), eb("error_message", "is", null)]),
  "terminal-without-end-time": (eb) => eb.and([eb("state", "in", TERMINAL_STATES), eb("ended_at", "is", null)]),
  "live-with-end-time": (eb) => eb.and([eb("state", "not in", TERMINAL_STATES), eb("ended_at", "is not", null)]),
  "outputs-before-commit": (eb) => eb.and([eb("state", "in", ["Ready", "Running"]), eb("serialized_job_outputs", "is not", null)]),
  "error-on-non-failed-job": (eb) => eb.and([eb("state", "<>", "Failed"), eb("error_message", "is not", null)]),
  "quarantined-jobs": (eb) => eb.and([eb("state", "=", "Failed"), eb("error_message", "like", `${QUARANTINE_PREFIX}%`)]),
} satisfies Record<string, JobCondition>;

export type JobRowViolation = keyof typeof JOB_ROW_VIOLATIONS;

export const JOB_ROW_VIOLATION_NAMES = Object.keys(JOB_ROW_VIOLATIONS) as JobRowViolation[];
