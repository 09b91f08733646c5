/** Payloads the cache keeps: copies that pin nothing else, packed so many small ones cost one buffer. */
import { describe, expect, it } from "vitest";
import { packedCopies, retainedBufferBytes } from "../../src/cache/owned-bytes.ts";

describe("packedCopies", () => {
  it("copies a job's payloads into one buffer of their total size, a view each", () => {
    const request = new Uint8Array(1_000).map((_, i) => i % 251);
    const parts = [request.subarray(10, 13), request.subarray(100, 100), request.subarray(500, 507)];
    const kept = packedCopies(parts);
    expect(kept.map((k) => [...k])).toEqual(parts.map((p) => [...p]));
    expect(new Set(kept.map((k) => k.buffer)).size).toBe(1);
    expect(retainedBufferBytes(kept)).toBe(10); // not the 1 000-byte request
    request.fill(0);
    expect([...kept[0]!]).toEqual([10, 11, 12]); // copies, not views of the request
  });
});
