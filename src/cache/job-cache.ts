/**
 * The job cache: every job this process is driving, by id. Non-terminal jobs
 * are always here; terminal ones stay for a retention period (see
 * job-cache-gc.ts) and are then answered from the database.
 */
import { internal } from "../core/errors.ts";
import type { JobControlBlock } from "./job-control-block.ts";
import { RenewingMap } from "../core/renewing-map.ts";

export class JobCache {
  private readonly jobs = new RenewingMap<bigint, JobControlBlock>();

  get size(): number {
    return this.jobs.size;
  }

  get(jobId: bigint): JobControlBlock | undefined {
    return this.jobs.get(jobId);
  }

  /** Inserting an id twice is an internal error (the database hands out each id once). */
  insert(jcb: JobControlBlock): void {
    if (this.jobs.has(jcb.jobId)) throw internal(`job ${jcb.jobId} is already cached`);
    this.jobs.set(jcb.jobId, jcb);
  }

  /** Removes the job; its payloads no longer count against the engine's budget. */
  remove(jobId: bigint): JobControlBlock | undefined {
    const jcb = this.jobs.get(jobId);
    this.jobs.delete(jobId);
    jcb?.detach();
    return jcb;
  }

  /** Removes the given jobs (missing and repeated ids are ignored); returns how many were removed. */
  removeBatch(jobIds: Iterable<bigint>): number {
    let removed = 0;
    for (const id of jobIds) if (this.remove(id) !== undefined) removed++;
    return removed;
  }

  values(): IterableIterator<JobControlBlock> {
    return this.jobs.values();
  }
}
