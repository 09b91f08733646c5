/**
 * The one back-off (src/core/backoff.ts): delays double from the initial one
 * up to the cap, jitter stays within its fraction either side, a reset starts
 * over, and an aborted sleep rejects at once with the caller's reason.
 */
import { describe, expect, it } from "vitest";
import { Backoff, backoffDelayMs, sleep } from "../../../src/core/backoff.ts";

describe("backoff", () => {
  it("doubles from the initial delay up to the cap, and never overflows", () => {
    const policy = { initialMs: 100, maxMs: 5_000 };
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => backoffDelayMs(policy, n))).toEqual([100, 200, 400, 800, 1_600, 3_200, 5_000]);
    expect(backoffDelayMs(policy, 10_000)).toBe(5_000);
    expect(backoffDelayMs({ initialMs: 0, maxMs: 10 }, 10_000)).toBe(0);
  });

  it("jitters within the fraction either side (D8: ±50 %)", () => {
    const policy = { initialMs: 25, maxMs: 400, jitter: 0.5 };
    expect(backoffDelayMs(policy, 1, () => 0)).toBe(13); // 12.5, rounded
    expect(backoffDelayMs(policy, 1, () => 0.5)).toBe(25);
    expect(backoffDelayMs(policy, 9, () => 0.999_999)).toBe(600);
  });

  it("counts failures in a row; reset starts over", () => {
    const backoff = new Backoff({ initialMs: 100, maxMs: 1_000 });
    expect([backoff.next(), backoff.next(), backoff.next()]).toEqual([100, 200, 400]);
    expect(backoff.failures).toBe(3);
    backoff.reset();
    expect(backoff.next()).toBe(100);
  });

  it("an aborted sleep rejects at once with the signal's reason", async () => {
    const controller = new AbortController();
    const reason = new Error("server is stopping");
    const started = performance.now();
    const sleeping = sleep(60_000, controller.signal);
    controller.abort(reason);
    await expect(sleeping).rejects.toBe(reason);
    expect(performance.now() - started).toBeLessThan(1_000);
    await expect(sleep(10, AbortSignal.abort(reason))).rejects.toBe(reason);
    await expect(sleep(1, new AbortController().signal)).resolves.toBeUndefined();
  });
});
