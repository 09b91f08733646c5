/**
 * One live task instance, and what the pool needs from the job that owns it.
 * Instance ids come from a process-wide counter starting at 1 (spec §1.7);
 * the session id, not the instance id, tells lifetimes apart.
 */

/** The owner of instances: a job control block, seen from the pool. */
/** Why an instance is taken away from a live task: its manager died, its caller never got the registration, or an operator released it. */
export type EvictionCause = "dead_execution_manager" | "undelivered_instance" | "operator";

export interface InstanceHost {
  readonly jobId: bigint;
  /**
   * The instance's execution manager died (or, `cause` "undelivered_instance",
   * its registration never reached the caller): forget the instance without
   * consuming a retry; if it was the task's last one the task is Ready again;
   * re-enqueue the task when it can take an instance.
   */
  evictInstance(record: InstanceRecord, cause?: EvictionCause): void;
  /** The instance passed its soft deadline: re-enqueue its task if it can take another instance. */
  softTimeout(record: InstanceRecord): void;
}

export class InstanceRecord {
  readonly id: bigint;
  readonly host: InstanceHost;
  /** Task key: index of a regular task, or COMMIT_KEY / CLEANUP_KEY. */
  readonly key: number;
  readonly executionManagerId: bigint;
  /** Monotonic milliseconds after which the task is re-enqueued once for a speculative instance. */
  readonly softDeadline: number;
  readonly registeredAt: number;
  softTimeoutHandled = false;
  live = true;

  constructor(
    id: bigint,
    host: InstanceHost,
    key: number,
    executionManagerId: bigint,
    registeredAt: number,
    softTimeoutMs: number,
  ) {
    this.id = id;
    this.host = host;
    this.key = key;
    this.executionManagerId = executionManagerId;
    this.registeredAt = registeredAt;
    this.softDeadline = registeredAt + softTimeoutMs;
  }
}
