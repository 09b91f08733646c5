/**
 * What `doctor` tells an operator about each per-row invariant of the jobs
 * table (the conditions themselves: src/db/jobs/job-row-violations.ts), in
 * the order findings are listed.
 */
import type { JobRowViolation } from "../db/jobs/job-row-violations.ts";

export type Severity = "error" | "warning" | "info";

export interface JobRowCheck {
  /** Stable name, used in --json and the runbook. */
  readonly check: JobRowViolation;
  readonly severity: Severity;
  /** "N jobs …" continues with this. */
  readonly message: string;
  readonly fix: string;
}

export const JOB_ROW_CHECKS: readonly JobRowCheck[] = [
  {
    check: "commit-ready-without-outputs",
    severity: "error",
    message: "are CommitReady without stored job outputs: the commit task has nothing to read and a restart quarantines them",
    fix: "spider-storage jobs fail ID --reason 'outputs lost' (or restart: recovery quarantines them)",
  },
  {
    check: "succeeded-without-outputs",
    severity: "error",
    message: "are Succeeded without stored job outputs: GetJobOutputs cannot answer for them",
    fix: "if still cached, spider-storage verify --repair copies the outputs back; otherwise the outputs are lost",
  },
  {
    check: "failed-without-error",
    severity: "error",
    message: "are Failed without an error message",
    fix: "inspect with spider-storage jobs show ID",
  },
  {
    check: "terminal-without-end-time",
    severity: "error",
    message: "are terminal without an end time: GC never deletes them",
    fix: "inspect with spider-storage jobs show ID",
  },
  {
    check: "live-with-end-time",
    severity: "error",
    message: "are not terminal but have an end time",
    fix: "inspect with spider-storage jobs show ID; spider-storage jobs fail ID if it is corrupt",
  },
  {
    check: "outputs-before-commit",
    severity: "error",
    message: "are Ready or Running but already have job outputs",
    fix: "inspect with spider-storage jobs show ID; spider-storage jobs fail ID if it is corrupt",
  },
  {
    check: "error-on-non-failed-job",
    severity: "warning",
    message: "are not Failed but carry an error message",
    fix: "inspect with spider-storage jobs show ID",
  },
  {
    check: "quarantined-jobs",
    severity: "warning",
    message: "were quarantined by recovery (their rows could not be loaded; the reason is their error message)",
    fix: "spider-storage jobs show ID for the reason; spider-storage jobs retry ID once fixed, or leave them to GC",
  },
];
