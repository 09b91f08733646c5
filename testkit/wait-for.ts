/**
 * `waitFor(what, predicate)`: the test kit's one polling wait. It calls the
 * predicate until it answers something other than `false` or `undefined` and
 * returns that answer, so a wait can hand back what it found (a row, a
 * listing, a session id: `0` and `0n` count as found). On timeout it throws
 * naming `what`; an error the predicate throws ends the wait at once.
 */
import { setTimeout as sleep } from "node:timers/promises";

export interface WaitOptions {
  /** Give up after this long (default 30 s). */
  readonly timeoutMs?: number;
  /** Pause between polls (default 50 ms). */
  readonly intervalMs?: number;
}

/** What a predicate answers: `false` or `undefined` mean "not yet". */
export type Answer<T> = T | false | undefined;

/**
 * @param what what is awaited, for the timeout's message ("the server to resume");
 *   a function is called only on timeout, so the message can show the last state seen.
 */
export async function waitFor<T>(what: string | (() => string), predicate: () => Answer<T> | Promise<Answer<T>>, options: WaitOptions = {}): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const answer = await predicate();
    if (answer !== false && answer !== undefined) return answer;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === "string" ? what : what()}`);
    await sleep(options.intervalMs ?? 50);
  }
}
