/**
 * Job states and the one table of allowed transitions (DECISIONS D4), used by
 * the cache and by the database layer alike. It amends Spider's rule (spec
 * §3.1): Ready may be cancelled straight to Cancelled, CommitReady may be
 * cancelled to Cancelled when there is no cleanup task, a quarantined Ready row
 * may fail, and an operator may send a Failed job back to Running.
 */

export const JOB_STATES = [
  "Ready",
  "Running",
  "CommitReady",
  "CleanupReady",
  "Succeeded",
  "Failed",
  "Cancelled",
] as const;

export type JobState = (typeof JOB_STATES)[number];

export const TERMINAL_STATES: readonly JobState[] = ["Succeeded", "Failed", "Cancelled"];

export function isTerminal(state: JobState): boolean {
  return state === "Succeeded" || state === "Failed" || state === "Cancelled";
}

export function isJobState(value: string): value is JobState {
  return (JOB_STATES as readonly string[]).includes(value);
}

/** Who may ask for a transition: the engine, recovery's quarantine, or an operator. */
export type TransitionActor = "engine" | "quarantine" | "operator";

type Rule = { readonly from: JobState; readonly to: JobState; readonly by: readonly TransitionActor[] };

const ENGINE_AND_OPERATOR: readonly TransitionActor[] = ["engine", "operator"];

/** The whole table. Anything absent is forbidden. */
export const JOB_TRANSITIONS: readonly Rule[] = [
  { from: "Ready", to: "Running", by: ENGINE_AND_OPERATOR },
  { from: "Running", to: "CommitReady", by: ["engine"] },
  { from: "Running", to: "CleanupReady", by: ENGINE_AND_OPERATOR },
  { from: "CommitReady", to: "CleanupReady", by: ENGINE_AND_OPERATOR },
  { from: "Running", to: "Succeeded", by: ["engine"] },
  { from: "CommitReady", to: "Succeeded", by: ["engine"] },
  { from: "Running", to: "Failed", by: ["engine", "quarantine", "operator"] },
  { from: "CommitReady", to: "Failed", by: ["engine", "quarantine", "operator"] },
  { from: "CleanupReady", to: "Failed", by: ["engine", "quarantine", "operator"] },
  { from: "Ready", to: "Failed", by: ["quarantine", "operator"] },
  { from: "Ready", to: "Cancelled", by: ENGINE_AND_OPERATOR },
  { from: "Running", to: "Cancelled", by: ENGINE_AND_OPERATOR },
  { from: "CommitReady", to: "Cancelled", by: ENGINE_AND_OPERATOR },
  { from: "CleanupReady", to: "Cancelled", by: ["engine"] },
  { from: "Failed", to: "Running", by: ["operator"] },
];

export function canTransition(from: JobState, to: JobState, by: TransitionActor = "engine"): boolean {
  return JOB_TRANSITIONS.some((rule) => rule.from === from && rule.to === to && rule.by.includes(by));
}

/** The state a cancel request moves a job to, or undefined when it cannot be cancelled. */
export function cancelTarget(from: JobState, hasCleanupTask: boolean): JobState | undefined {
  switch (from) {
    case "Ready":
      return "Cancelled"; // nothing ran, so there is nothing to clean up
    case "Running":
    case "CommitReady":
      return hasCleanupTask ? "CleanupReady" : "Cancelled";
    default:
      return undefined;
  }
}
