/**
 * A minimal async mutex: one per job control block, held across the database
 * write of a job transition so two outcomes for one task never both win and a
 * report racing a cancel ends consistently. FIFO; no allocation when
 * uncontended beyond the caller's own promise.
 */
export class AsyncMutex {
  private locked = false;
  private waiters: (() => void)[] | undefined;

  get isLocked(): boolean {
    return this.locked;
  }

  async run<T>(fn: () => T | Promise<T>): Promise<T> {
    if (this.locked) {
      await new Promise<void>((resolve) => (this.waiters ??= []).push(resolve));
    } else {
      this.locked = true;
    }
    try {
      return await fn();
    } finally {
      const next = this.waiters?.shift();
      if (next) next();
      else this.locked = false;
    }
  }
}
