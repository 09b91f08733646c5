/**
 * Wire task indices (issue 17 item 6): every u64 is a valid index on the wire
 * (Spider's `u64` fits `usize` on 64-bit); one that names no task is refused
 * by the job as out of range (FAILED_PRECONDITION, D5), never as a malformed
 * request.
 */
import { describe, expect, it } from "vitest";
import { NO_SUCH_TASK_INDEX, taskIndexFromWire } from "../../../src/core/ids.ts";

describe("taskIndexFromWire", () => {
  it("keeps indices a graph can have", () => {
    expect(taskIndexFromWire(0n)).toEqual({ kind: "index", index: 0 });
    expect(taskIndexFromWire(9_999n)).toEqual({ kind: "index", index: 9_999 });
  });

  it("maps every index from 2^32 to 2^64 − 1 to one no graph has, without throwing", () => {
    for (const huge of [1n << 32n, 1n << 40n, 1n << 63n, (1n << 63n) + 1n, (1n << 64n) - 1n]) {
      expect(taskIndexFromWire(huge)).toEqual({ kind: "index", index: NO_SUCH_TASK_INDEX });
    }
  });
});
