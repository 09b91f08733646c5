/**
 * The longest unavailability the clients saw, from the failover clients'
 * call attempts (testkit/sim/failover-storage-clients.ts): the time between
 * two successful answers (to any call of any simulated component) with only
 * failed or unanswered attempts in between. The scheduler polls every few
 * milliseconds and the execution managers heartbeat every 200 ms, so under
 * load a gap is the time nobody could get an answer.
 */
import type { CallAttempt } from "../testkit/sim/failover-storage-clients.ts";

export interface Gap {
  readonly fromMs: number;
  readonly toMs: number;
  readonly ms: number;
  /** The fault in progress when the gap began, if the run labelled one. */
  readonly during: string;
}

export class UnavailabilityTracker {
  readonly gaps: Gap[] = [];
  okAnswers = 0;
  failedAttempts = 0;
  #lastOk: number | undefined;
  #failedSinceOk = false;
  #label = "";
  #labelAtFailure = "";

  /** Names the fault in progress (gaps starting now are attributed to it). */
  label(what: string): void {
    this.#label = what;
  }

  readonly record = (attempt: CallAttempt): void => {
    if (attempt.code === 0) {
      this.okAnswers++;
      if (this.#failedSinceOk && this.#lastOk !== undefined && attempt.settledAt > this.#lastOk) {
        this.#push({ fromMs: this.#lastOk, toMs: attempt.settledAt, ms: attempt.settledAt - this.#lastOk, during: this.#labelAtFailure });
      }
      if (this.#lastOk === undefined || attempt.settledAt > this.#lastOk) this.#lastOk = attempt.settledAt;
      this.#failedSinceOk = false;
      return;
    }
    this.failedAttempts++;
    if (!this.#failedSinceOk) this.#labelAtFailure = this.#label;
    this.#failedSinceOk = true;
  };

  get longestMs(): number {
    return this.gaps.reduce((max, g) => Math.max(max, g.ms), 0);
  }

  /** The `n` longest gaps, longest first. */
  longest(n = 5): Gap[] {
    return [...this.gaps].sort((a, b) => b.ms - a.ms).slice(0, n);
  }

  #push(gap: Gap): void {
    // Keep the ones that matter: gaps of 100 ms and more.
    if (gap.ms >= 100) this.gaps.push(gap);
  }
}
