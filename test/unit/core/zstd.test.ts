/**
 * Bounded zstd (DECISIONS D15): every frame of concatenated input decoded
 * (node:zlib alone decodes only the first), skippable frames skipped, one
 * budget shared by all frames, bombs rejected in milliseconds, and every
 * malformed input a StorageError.
 */
import { constants, zstdCompressSync } from "node:zlib";
import { beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { compressZstd, decompressZstd, DEFAULT_MAX_DECOMPRESSED_BYTES } from "../../../src/core/zstd.ts";
import { bytes, concat, expectInvalid, utf8 } from "./helpers.ts";

const MiB = 1024 * 1024;

/**
 * The maxOutputLength of every native zstd decode the module under test runs:
 * what a bomb test checks instead of a wall-clock bound (nothing decoded, or
 * decoding capped at the budget), which a loaded machine cannot break.
 */
const nativeDecodes = vi.hoisted((): (number | undefined)[] => []);
vi.mock("node:zlib", async (importOriginal) => {
  const zlib = await importOriginal<typeof import("node:zlib")>();
  return {
    ...zlib,
    zstdDecompressSync: (input: Uint8Array, options?: { maxOutputLength?: number }) => {
      nativeDecodes.push(options?.maxOutputLength);
      return zlib.zstdDecompressSync(input, options);
    },
  };
});

/** A frame whose header does not declare the content size (as a streaming writer produces). */
function compressWithoutSize(data: Uint8Array, checksum = false): Uint8Array {
  const out = zstdCompressSync(data, {
    params: { [constants.ZSTD_c_contentSizeFlag]: 0, [constants.ZSTD_c_checksumFlag]: checksum ? 1 : 0 },
  });
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

function skippable(payload: Uint8Array, magicNibble = 0): Uint8Array {
  const header = new Uint8Array(8);
  const view = new DataView(header.buffer);
  view.setUint32(0, 0x184d2a50 + magicNibble, true);
  view.setUint32(4, payload.length, true);
  return concat(header, payload);
}

describe("round trips", () => {
  it("compresses and decompresses, at any level", () => {
    const data = utf8("spider ".repeat(1000));
    for (const level of [undefined, 1, 3, 19, -5]) {
      const compressed = compressZstd(data, level);
      expect(compressed.length).toBeLessThan(data.length);
      expect(decompressZstd(compressed, { maxOutputBytes: data.length })).toEqual(data);
    }
    expect(decompressZstd(compressZstd(new Uint8Array()), { maxOutputBytes: 0 })).toEqual(new Uint8Array());
  });

  it("gives a small result its own memory, not a view pinning zlib's larger output buffer", () => {
    // Job inputs live as long as their job: 17 bytes must not hold 64 KiB.
    const small = utf8("seventeen bytes!!");
    const out = decompressZstd(compressZstd(small), { maxOutputBytes: MiB });
    expect(out).toEqual(small);
    expect(out.buffer.byteLength).toBeLessThanOrEqual(2 * small.byteLength + 64);
  });

  it("exports the 64 MiB default budget", () => {
    expect(DEFAULT_MAX_DECOMPRESSED_BYTES).toBe(64 * MiB);
  });

  it("decodes frames without a declared content size, with and without a checksum", () => {
    const data = utf8("abc".repeat(5000));
    expect(decompressZstd(compressWithoutSize(data), { maxOutputBytes: data.length })).toEqual(data);
    expect(decompressZstd(compressWithoutSize(data, true), { maxOutputBytes: data.length })).toEqual(data);
  });
});

describe("concatenated frames", () => {
  it("decodes every frame, not just the first", () => {
    const input = concat(compressZstd(utf8("hello ")), compressWithoutSize(utf8("wide ")), compressZstd(utf8("world"), 19));
    expect(new TextDecoder().decode(decompressZstd(input, { maxOutputBytes: 100 }))).toBe("hello wide world");
  });

  it("skips skippable frames anywhere", () => {
    const input = concat(
      skippable(utf8("meta")),
      compressZstd(utf8("a")),
      skippable(new Uint8Array(), 0xf),
      compressZstd(utf8("b")),
      skippable(utf8("tail"), 7),
    );
    expect(new TextDecoder().decode(decompressZstd(input, { maxOutputBytes: 2 }))).toBe("ab");
    expect(decompressZstd(skippable(utf8("only")), { maxOutputBytes: 0 })).toEqual(new Uint8Array());
  });

  it("shares one budget across all frames", () => {
    const frame = compressZstd(new Uint8Array(40_000));
    const unsized = compressWithoutSize(new Uint8Array(40_000));
    expect(decompressZstd(concat(frame, unsized), { maxOutputBytes: 80_000 })).toHaveLength(80_000);
    expectInvalid(() => decompressZstd(concat(frame, frame), { maxOutputBytes: 79_999 }), "above the limit of 79999 bytes");
    expectInvalid(() => decompressZstd(concat(frame, unsized), { maxOutputBytes: 79_999 }), "above the limit of 79999 bytes");
    expectInvalid(() => decompressZstd(concat(unsized, unsized), { maxOutputBytes: 40_000 }), "above the limit of 40000 bytes");
  });
});

describe("bombs", () => {
  let bomb: Uint8Array;
  let unsizedBomb: Uint8Array;
  beforeAll(() => {
    const zeros = new Uint8Array(256 * MiB);
    bomb = compressZstd(zeros);
    unsizedBomb = compressWithoutSize(zeros);
  });
  beforeEach(() => {
    nativeDecodes.length = 0;
  });

  it("rejects 256 MiB of zeros with a declared size before decoding anything", () => {
    expect(bomb.length).toBeLessThan(64 * 1024);
    expectInvalid(
      () => decompressZstd(bomb, { maxOutputBytes: DEFAULT_MAX_DECOMPRESSED_BYTES, what: "task graph", limitName: "runtime.limits.max_decompressed_bytes" }),
      "task graph decompresses to more than 67108864 bytes, above the limit of 67108864 bytes (runtime.limits.max_decompressed_bytes)",
    );
    expect(nativeDecodes).toEqual([]); // refused from the frame header: nothing decoded
  });

  it("stops 256 MiB of zeros without a declared size at the budget", () => {
    expectInvalid(() => decompressZstd(unsizedBomb, { maxOutputBytes: DEFAULT_MAX_DECOMPRESSED_BYTES }), "above the limit of 67108864 bytes");
    expect(nativeDecodes).toEqual([DEFAULT_MAX_DECOMPRESSED_BYTES]); // one decode, stopped by zlib at the budget
  });

  it("stops a bomb spread over many frames", () => {
    const piece = compressWithoutSize(new Uint8Array(4 * MiB));
    const many = concat(...Array.from({ length: 64 }, () => piece));
    expectInvalid(() => decompressZstd(many, { maxOutputBytes: 16 * MiB }), "above the limit of 16777216 bytes");
    // Four frames fill the budget; the fifth may decode 1 byte and is refused: 59 frames never touched.
    expect(nativeDecodes).toEqual([16 * MiB, 12 * MiB, 8 * MiB, 4 * MiB, 1]);
  });
});

describe("malformed input", () => {
  const valid = compressZstd(utf8("payload ".repeat(50)));

  it("rejects empty input", () => {
    expectInvalid(() => decompressZstd(new Uint8Array(), { maxOutputBytes: 10, what: "job inputs" }), "job inputs is empty, expected zstd-compressed data");
  });

  it.each([
    ["garbage", utf8("not a zstd payload"), "unknown frame magic number 0x20746f6e at byte 0"],
    ["a short magic", bytes(0x28, 0xb5, 0x2f), "truncated frame magic number at byte 0"],
    ["a header cut short", valid.subarray(0, 5), "truncated"],
    ["a truncated block", valid.subarray(0, valid.length - 3), "truncated block"],
    ["trailing garbage", concat(valid, utf8("xyz")), `truncated frame magic number at byte ${valid.length}`],
    ["trailing garbage of 4+ bytes", concat(valid, utf8("zzzzzz")), "unknown frame magic number"],
    ["a truncated skippable frame", skippable(utf8("abcdef")).subarray(0, 10), "truncated skippable frame"],
    ["a skippable header cut short", skippable(utf8("x")).subarray(0, 6), "truncated skippable frame header"],
    ["the reserved descriptor bit", concat(bytes(0x28, 0xb5, 0x2f, 0xfd, 0x08), new Uint8Array(10)), "reserved bit set"],
    ["a reserved block type", bytes(0x28, 0xb5, 0x2f, 0xfd, 0x20, 0x00, 0x07, 0x00, 0x00), "reserved block type"],
  ])("rejects %s", (_name, input, message) => {
    expectInvalid(() => decompressZstd(input, { maxOutputBytes: 1 << 20 }), `zstd data is not valid zstd data: ${message}`);
  });

  it("rejects a corrupted compressed block and a bad checksum", () => {
    const data = utf8("abcdefghij".repeat(400));
    const checked = compressWithoutSize(data, true);
    const badChecksum = checked.slice();
    badChecksum[badChecksum.length - 1]! ^= 0xff;
    expectInvalid(() => decompressZstd(badChecksum, { maxOutputBytes: 1 << 20 }), "not valid zstd data");
    const corrupt = checked.slice();
    for (let i = 12; i < corrupt.length - 8; i += 3) {
      corrupt[i] = 0xff;
    }
    expectInvalid(() => decompressZstd(corrupt, { maxOutputBytes: 1 << 20 }), "not valid zstd data");
  });

  it("rejects a frame that needs a dictionary", () => {
    // Descriptor 0x21: single segment, 1-byte dictionary id; then dict id 7, content size 1, one raw block "a".
    const frame = bytes(0x28, 0xb5, 0x2f, 0xfd, 0x21, 0x07, 0x01, 0x09, 0x00, 0x00, 0x61);
    expectInvalid(() => decompressZstd(frame, { maxOutputBytes: 10 }), "not valid zstd data");
  });

  it("accepts a hand-made frame with raw and RLE blocks", () => {
    // Single segment, content size 4 (1 byte); raw block "ab" (not last), RLE block "c" x2 (last).
    const frame = bytes(0x28, 0xb5, 0x2f, 0xfd, 0x20, 0x04, 0x10, 0x00, 0x00, 0x61, 0x62, 0x13, 0x00, 0x00, 0x63);
    expect(new TextDecoder().decode(decompressZstd(frame, { maxOutputBytes: 4 }))).toBe("abcc");
    expectInvalid(() => decompressZstd(frame, { maxOutputBytes: 3 }), "above the limit of 3 bytes");
  });

  it("rejects a bad budget argument as a programming error", () => {
    expect(() => decompressZstd(valid, { maxOutputBytes: -1 })).toThrow(RangeError);
    expect(() => decompressZstd(valid, { maxOutputBytes: 1.5 })).toThrow(RangeError);
  });
});
