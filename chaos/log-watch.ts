/**
 * A server process's JSON log as the chaos run needs it: how often each
 * message appeared, the records of the few messages a fault waits for
 * (recovery started, serving, a half-written checkpoint flush, lease
 * suspensions and step-downs), the warnings and errors, and the last lines —
 * without keeping a long-lived server's whole log in memory.
 */
import type { ServerProcess } from "../testkit/server-process.ts";

export type LogRecord = Record<string, unknown> & { readonly msg?: string; readonly level?: number; readonly time?: number };

export const RECOVERY_STARTED = "recovery started";
export const SERVING = "serving";
export const HALF_WRITTEN = "checkpoint flush half-written (test hook)";

const KEPT_MESSAGES = new Set([RECOVERY_STARTED, SERVING, HALF_WRITTEN, "recovery finished", "inbound queue refilled"]);
const WARN = 40;

export class LogWatch {
  readonly counts = new Map<string, number>();
  /** Records of the messages above, and every warning or error (at most 2 000). */
  readonly kept: LogRecord[] = [];
  readonly #tail: string[] = [];
  #partial = "";
  #waiters: { predicate: (r: LogRecord) => boolean; resolve: (r: LogRecord) => void }[] = [];

  constructor(server: ServerProcess) {
    const onData = (chunk: Buffer) => {
      const lines = (this.#partial + chunk.toString()).split("\n");
      this.#partial = lines.pop() ?? "";
      for (const line of lines) this.#take(line);
    };
    server.child.stdout?.on("data", onData);
    server.child.stderr?.on("data", onData);
  }

  count(message: string): number {
    return this.counts.get(message) ?? 0;
  }

  /** The last lines of the log (for a report). */
  tail(lines = 40): string {
    return this.#tail.slice(-lines).join("\n");
  }

  /** Warnings and errors, as "level msg" lines. */
  warnings(): string[] {
    return this.kept.filter((r) => (r.level ?? 0) >= WARN).map((r) => `${r.level} ${r.msg ?? ""}${r["err"] ? ` (${JSON.stringify(r["err"]).slice(0, 300)})` : ""}`);
  }

  /** The first kept record (seen already or coming) that matches; rejects after `timeoutMs` or when `signal` fires. */
  waitFor(predicate: (r: LogRecord) => boolean, timeoutMs: number, signal?: AbortSignal): Promise<LogRecord> {
    const seen = this.kept.find(predicate);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", aborted);
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no matching log line after ${timeoutMs} ms`));
      }, timeoutMs);
      timer.unref(); // a wait nobody needs any more must not keep the run alive
      const aborted = () => {
        done();
        reject(new Error("aborted"));
      };
      signal?.addEventListener("abort", aborted, { once: true });
      const waiter = {
        predicate,
        resolve: (r: LogRecord) => {
          done();
          resolve(r);
        },
      };
      this.#waiters.push(waiter);
    });
  }

  #take(line: string): void {
    this.#tail.push(line.length > 600 ? `${line.slice(0, 600)}…` : line);
    if (this.#tail.length > 200) this.#tail.splice(0, this.#tail.length - 200);
    if (!line.startsWith("{")) return;
    let record: LogRecord;
    try {
      record = JSON.parse(line) as LogRecord;
    } catch {
      return;
    }
    const message = String(record.msg ?? "");
    this.counts.set(message, (this.counts.get(message) ?? 0) + 1);
    if (!KEPT_MESSAGES.has(message) && (record.level ?? 0) < WARN) return;
    if (this.kept.length < 2_000) this.kept.push(record);
    for (const waiter of [...this.#waiters]) if (waiter.predicate(record)) waiter.resolve(record);
  }
}
