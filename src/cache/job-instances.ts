/**
 * The live instances of one job (spec §3.3): the pool's records this job
 * owns, kept in step with the per-task live counts of its task table, so a
 * count always equals the records of that task.
 */
import type { InstanceRecord } from "../instances/instance-record.ts";
import type { TaskInstancePool } from "../instances/task-instance-pool.ts";
import type { TaskTable } from "./task-table.ts";

export class JobInstances {
  private readonly records = new Set<InstanceRecord>();
  private readonly tasks: TaskTable;
  private readonly pool: TaskInstancePool;

  constructor(tasks: TaskTable, pool: TaskInstancePool) {
    this.tasks = tasks;
    this.pool = pool;
  }

  get size(): number {
    return this.records.size;
  }

  has(record: InstanceRecord): boolean {
    return this.records.has(record);
  }

  list(): InstanceRecord[] {
    return [...this.records];
  }

  /** A record the pool just created for this job. */
  add(record: InstanceRecord): void {
    this.records.add(record);
    const slot = this.tasks.slotOf(record.key);
    this.tasks.live[slot] = this.tasks.live[slot]! + 1;
  }

  /** Forgets a record the pool already let go of (an eviction); false when it was not this job's any more. */
  forget(record: InstanceRecord): boolean {
    if (!this.records.delete(record)) return false;
    const slot = this.tasks.slotOf(record.key);
    this.tasks.live[slot] = this.tasks.live[slot]! - 1;
    return true;
  }

  /** Removes a record from the pool and from this job (it reported, or its task ended). */
  release(record: InstanceRecord): void {
    this.pool.remove(record);
    this.forget(record);
  }

  /** Releases every other live instance of a task that just ended (their reports will be stale). */
  releaseTask(key: number): void {
    if (this.tasks.live[this.tasks.slotOf(key)] === 0) return;
    for (const record of this.records) if (record.key === key) this.release(record);
  }

  /** Releases every instance (the job left the state its tasks run in). */
  releaseAll(): void {
    for (const record of this.records) this.pool.remove(record);
    this.records.clear();
    this.tasks.live.fill(0);
  }
}
