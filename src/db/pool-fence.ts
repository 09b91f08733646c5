/**
 * The fence that keeps a server without the single-writer lease (DECISIONS
 * D3) from writing: while closed, the pool hands out no connection. A request
 * for one waits up to `waitMs` (default 1 s, about what the db layer's own
 * retries of a refused connection take) for the fence to open — so a lease
 * retaken within a blip is invisible to callers — and otherwise fails with
 * StorageError "unavailable", which src/db passes up unchanged (nothing was
 * written, the client may retry) and the engine treats as the database being
 * unreachable (D6).
 *
 * Connections already handed out are not taken back: statements in flight when
 * the lease is lost finish or fail on their own (after a database restart
 * their connections are dead anyway).
 */
import type { MysqlPool, MysqlPoolConnection } from "kysely";
import { unavailable } from "../core/errors.ts";

export class PoolFence {
  readonly #waitMs: number;
  readonly #beforeUse: (() => void) | undefined;
  #closedReason: string | undefined;
  #waiters: (() => void)[] = [];

  /** `beforeUse` runs before every connection is handed out and may close the fence (the lease's deadline check). */
  constructor(options: { waitMs?: number; beforeUse?: () => void } = {}) {
    this.#waitMs = options.waitMs ?? 1_000;
    this.#beforeUse = options.beforeUse;
  }

  get closed(): boolean {
    return this.#closedReason !== undefined;
  }

  /** Stops handing out connections; `reason` is told to callers. */
  close(reason: string): void {
    this.#closedReason = reason;
  }

  open(): void {
    this.#closedReason = undefined;
    for (const waiter of this.#waiters.splice(0)) waiter();
  }

  /** `pool`, fenced. */
  wrap(pool: MysqlPool): MysqlPool {
    return {
      getConnection: (callback) => {
        this.#beforeUse?.();
        if (this.#closedReason === undefined) return pool.getConnection(callback);
        void this.#waitOpen().then((opened) => {
          if (opened) return pool.getConnection(callback);
          const reason = this.#closedReason ?? "the database lease was lost";
          callback(unavailable(`database unavailable: ${reason}; nothing was written`), undefined as unknown as MysqlPoolConnection);
        });
      },
      end: (callback) => pool.end(callback),
    };
  }

  #waitOpen(): Promise<boolean> {
    return new Promise((resolve) => {
      const waiter = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        resolve(false);
      }, this.#waitMs);
      timer.unref();
      this.#waiters.push(waiter);
    });
  }
}
