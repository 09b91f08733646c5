/**
 * Small single-segment frames are decoded by one reused native zstd context
 * (zstd-small-frames.ts), not by node:zlib, with the same results and the
 * same refusals: a bad checksum, a frame holding more or fewer bytes than it
 * declares, a declared size above the budget. Larger frames and frames that
 * are not single segment still go to node:zlib.
 */
import { constants, zstdCompressSync, zstdDecompressSync } from "node:zlib";
import fc from "fast-check";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { isStorageError } from "../../../src/core/errors.ts";
import { compressZstd, decompressZstd, decompressZstdAsync } from "../../../src/core/zstd.ts";
import { decodeSmallFrame, SMALL_FRAME_MAX_BYTES, smallFrameDecoderAvailable, smallFrameDecoderLoadError } from "../../../src/core/zstd-small-frames.ts";
import { bytes, concat, expectInvalid, utf8 } from "./helpers.ts";

/** Every node:zlib decode the module under test runs. */
const zlibDecodes = vi.hoisted((): number[] => []);
vi.mock("node:zlib", async (importOriginal) =>
  (await import("./helpers.ts")).countingZlib(await importOriginal<typeof import("node:zlib")>(), zlibDecodes),
);

beforeEach(() => {
  zlibDecodes.length = 0;
});

function payload(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31 + seed * 7 + (i >> 5)) & 0xff;
  return out;
}

function withChecksum(data: Uint8Array): Uint8Array {
  const out = zstdCompressSync(data, { params: { [constants.ZSTD_c_checksumFlag]: 1 } });
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

const both = [
  ["sync", async (data: Uint8Array, max: number) => decompressZstd(data, { maxOutputBytes: max })],
  ["async", (data: Uint8Array, max: number) => decompressZstdAsync(data, { maxOutputBytes: max })],
] as const;

describe("the native small-frame decoder", () => {
  it("is installed (an optional dependency built from source when no prebuilt binary is found)", () => {
    expect(smallFrameDecoderAvailable()).toBe(true);
    expect(smallFrameDecoderLoadError()).toBeUndefined();
  });

  it.each(both)("decodes small single-segment frames without node:zlib (%s)", async (_name, decode) => {
    for (const length of [0, 1, 100, 4096, SMALL_FRAME_MAX_BYTES]) {
      const data = payload(length, length);
      for (const frame of [compressZstd(data), compressZstd(data, 19), withChecksum(data)]) {
        expect(frame[4]! & 0x20).toBe(0x20); // single segment
        expect(await decode(frame, SMALL_FRAME_MAX_BYTES)).toEqual(data);
      }
    }
    expect(zlibDecodes).toEqual([]);
  });

  it("leaves frames above 64 KiB and frames that are not single segment to node:zlib", () => {
    const large = payload(SMALL_FRAME_MAX_BYTES + 1);
    expect(decompressZstd(compressZstd(large), { maxOutputBytes: 1 << 20 })).toEqual(large);
    expect(zlibDecodes).toHaveLength(1);
    // Descriptor 0x40: a 2-byte content size (256 + 44 = 300), a window descriptor (1 KiB), not single
    // segment; then one raw block of 300 bytes (block header 300 << 3 | last).
    const raw = payload(300);
    const windowed = concat(bytes(0x28, 0xb5, 0x2f, 0xfd, 0x40, 0x00, 0x2c, 0x00, 0x61, 0x09, 0x00), raw);
    expect(decompressZstd(windowed, { maxOutputBytes: 1000 })).toEqual(raw);
    expect(zlibDecodes).toHaveLength(2);
  });

  it("gives each result its own exact-size memory", () => {
    const data = payload(100);
    const out = decompressZstd(compressZstd(data), { maxOutputBytes: 1000 });
    expect(out.buffer.byteLength).toBe(100);
  });

  it.each(both)("refuses a small frame whose checksum does not match (%s)", async (_name, decode) => {
    const frame = withChecksum(payload(300)).slice();
    frame[frame.length - 1]! ^= 0xff;
    await expect(decode(frame, 1000)).rejects.toThrow("zstd data is not valid zstd data");
    expect(zlibDecodes).toEqual([]);
  });

  it.each(both)("refuses a small frame holding fewer bytes than it declares (%s)", async (_name, decode) => {
    // Single segment, content size 5, one raw block "abc".
    const frame = bytes(0x28, 0xb5, 0x2f, 0xfd, 0x20, 0x05, 0x19, 0x00, 0x00, 0x61, 0x62, 0x63);
    await expect(decode(frame, 10)).rejects.toThrow("zstd data is not valid zstd data");
  });

  it.each(both)("refuses a small frame holding more bytes than it declares (%s)", async (_name, decode) => {
    // Single segment, content size 2, one raw block "abc".
    const frame = bytes(0x28, 0xb5, 0x2f, 0xfd, 0x20, 0x02, 0x19, 0x00, 0x00, 0x61, 0x62, 0x63);
    await expect(decode(frame, 10)).rejects.toThrow("zstd data is not valid zstd data");
  });

  it.each(both)("refuses corrupt blocks in a small frame (%s)", async (_name, decode) => {
    const frame = compressZstd(utf8("abcdefghij".repeat(40))).slice();
    for (let i = 8; i < frame.length; i += 2) frame[i] = 0xff;
    await expect(decode(frame, 1000)).rejects.toThrow("zstd data is not valid zstd data");
  });

  it("keeps the budget: a small frame declaring more than is left is refused before decoding", () => {
    const first = compressZstd(payload(600));
    const second = compressZstd(payload(600, 2));
    expectInvalid(() => decompressZstd(concat(first, second), { maxOutputBytes: 1000 }), "above the limit of 1000 bytes");
    expect(zlibDecodes).toEqual([]);
  });

  it("decodes concatenated small frames into one result", () => {
    const parts = [payload(10), payload(0), payload(700, 3)];
    const input = concat(...parts.map((part) => compressZstd(part)));
    expect(decompressZstd(input, { maxOutputBytes: 1000 })).toEqual(concat(...parts));
    expect(zlibDecodes).toEqual([]);
  });
});

/** FC_SEED replays a failure (fast-check prints the seed and path). */
const seed = process.env["FC_SEED"] === undefined ? undefined : Number(process.env["FC_SEED"]);

describe("the native decoder against node:zlib on damaged frames", () => {
  const damagedFrame = fc
    .record({
      payload: fc.uint8Array({ maxLength: 3000 }),
      level: fc.integer({ min: 1, max: 19 }),
      checksum: fc.boolean(),
      flips: fc.array(fc.record({ at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }), { maxLength: 4 }),
    })
    .map(({ payload, level, checksum, flips }) => {
      const out = zstdCompressSync(payload, { params: { [constants.ZSTD_c_compressionLevel]: level, [constants.ZSTD_c_checksumFlag]: checksum ? 1 : 0 } });
      const frame = new Uint8Array(out);
      for (const flip of flips) frame[flip.at % frame.length]! ^= flip.xor;
      return { payload, frame, damaged: flips.length > 0 };
    });

  it("decodes what node:zlib decodes, byte for byte, and refuses only with INVALID_ARGUMENT", () => {
    fc.assert(
      fc.property(damagedFrame, ({ payload, frame, damaged }) => {
        let ours: Uint8Array | undefined;
        try {
          ours = decompressZstd(frame, { maxOutputBytes: SMALL_FRAME_MAX_BYTES });
        } catch (error) {
          expect(isStorageError(error) && error.kind === "invalid_argument").toBe(true);
          expect(damaged).toBe(true); // an intact frame always decodes
          return;
        }
        if (!damaged) expect(ours).toEqual(payload);
        // Whatever the native decoder accepted, node:zlib decodes to the same bytes.
        expect(new Uint8Array(zstdDecompressSync(frame, { maxOutputLength: SMALL_FRAME_MAX_BYTES + 1 }))).toEqual(ours);
      }),
      seed === undefined ? { numRuns: 400 } : { numRuns: 400, seed },
    );
  });

  it("decodeSmallFrame refuses, rather than truncates, a frame whose declared size is too small", () => {
    const frame = compressZstd(payload(500));
    expect(() => decodeSmallFrame(frame, 499)).toThrow();
  });
});
