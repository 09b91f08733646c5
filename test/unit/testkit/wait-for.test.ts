/** The test kit's one polling wait: what it returns, when it gives up and what it says then. */
import { describe, expect, it } from "vitest";
import { waitFor } from "../../../testkit/wait-for.ts";

describe("waitFor", () => {
  it("polls until the predicate holds", async () => {
    let calls = 0;
    await expect(waitFor("three calls", () => ++calls === 3, { intervalMs: 1 })).resolves.toBe(true);
    expect(calls).toBe(3);
  });

  it("returns what an async predicate found; only false and undefined mean not yet", async () => {
    const answers: unknown[] = [undefined, false, 0n];
    await expect(waitFor("a value", async () => answers.shift() as bigint | false | undefined, { intervalMs: 1 })).resolves.toBe(0n);
    await expect(waitFor("a row", () => ({ id: 7 }))).resolves.toEqual({ id: 7 });
  });

  it("gives up after the timeout, naming what it waited for", async () => {
    await expect(waitFor("the impossible", () => false, { timeoutMs: 20, intervalMs: 5 })).rejects.toThrow(
      "timed out after 20 ms waiting for the impossible",
    );
  });

  it("builds a described wait's message only when it gives up, from the last state seen", async () => {
    let seen = 0;
    let described = 0;
    const what = () => `seen to reach 1000 (it is ${seen}, described ${++described}×)`;
    const error = await waitFor(what, () => ++seen >= 1000, { timeoutMs: 20, intervalMs: 5 }).catch((e: unknown) => e);
    expect(seen).toBeGreaterThan(1);
    expect((error as Error).message).toBe(`timed out after 20 ms waiting for seen to reach 1000 (it is ${seen}, described 1×)`);
  });

  it("ends at once when the predicate throws", async () => {
    let calls = 0;
    const boom = () => {
      calls++;
      throw new Error("server exited");
    };
    await expect(waitFor("never", boom, { timeoutMs: 10_000 })).rejects.toThrow("server exited");
    expect(calls).toBe(1);
  });
});
