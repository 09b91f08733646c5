/**
 * Freezing a process (SIGSTOP) until every one of its threads has stopped —
 * `kill` returns before the signal is delivered, and a busy server can still
 * answer a request in between — and thawing it (SIGCONT). As
 * test/outage/outage-helpers.ts `freezeProcess`.
 */
import { readdirSync, readFileSync } from "node:fs";
import { waitFor } from "../testkit/wait-for.ts";

/** SIGSTOPs `pid` and resolves once it is stopped; returns the thaw (safe to call twice, or after the process is gone). */
export async function freezeProcess(pid: number): Promise<() => void> {
  process.kill(pid, "SIGSTOP");
  const thaw = () => {
    try {
      process.kill(pid, "SIGCONT");
    } catch {
      // Gone meanwhile.
    }
  };
  try {
    await waitFor(`process ${pid} to stop`, () => allThreadsStopped(pid), { timeoutMs: 10_000, intervalMs: 5 });
  } catch (error) {
    thaw();
    throw error;
  }
  return thaw;
}

function allThreadsStopped(pid: number): boolean {
  return readdirSync(`/proc/${pid}/task`).every((tid) => {
    // Field 3 of stat, after the parenthesised command (which may contain spaces): T stopped, t traced.
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state === "T" || state === "t";
  });
}
