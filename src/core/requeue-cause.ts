/**
 * Why a task went back to the inbound queue: an instance passed its soft
 * timeout; its execution manager was declared dead; a failed instance consumed
 * a retry; a report could not be written to the database (D6, no retry
 * consumed); a poll handed it out and nobody registered it in time; its
 * instance was withdrawn because the RegisterTaskInstance answer never reached
 * its caller; an operator released its instance (`jobs requeue --release-instances`).
 * The metrics label every cause from this list.
 */
export const REQUEUE_CAUSES = [
  "soft_timeout",
  "dead_execution_manager",
  "retry",
  "unapplied_report",
  "unclaimed_poll",
  "undelivered_instance",
  "operator",
] as const;

export type RequeueCause = (typeof REQUEUE_CAUSES)[number];
