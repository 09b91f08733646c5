/**
 * Without the optional native decoder (zstd-napi not installed: its build
 * failed, or npm skipped it), every frame is decoded by node:zlib, with the
 * same results and the same refusals.
 */
import { beforeEach, describe, expect, it, vi } from "vitest";
import { compressZstd, decompressZstd, decompressZstdAsync } from "../../../src/core/zstd.ts";
import { decodeSmallFrame, smallFrameDecoderAvailable, smallFrameDecoderLoadError } from "../../../src/core/zstd-small-frames.ts";
import { expectInvalid, utf8 } from "./helpers.ts";

vi.mock("node:module", async (importOriginal) => {
  const module = await importOriginal<typeof import("node:module")>();
  return {
    ...module,
    createRequire: (from: string | URL) => {
      const require = module.createRequire(from);
      return Object.assign((id: string) => {
        if (id.startsWith("zstd-napi")) throw Object.assign(new Error(`Cannot find module '${id}'`), { code: "MODULE_NOT_FOUND" });
        return require(id);
      }, require);
    },
  };
});

const zlibDecodes = vi.hoisted((): number[] => []);
vi.mock("node:zlib", async (importOriginal) =>
  (await import("./helpers.ts")).countingZlib(await importOriginal<typeof import("node:zlib")>(), zlibDecodes),
);

beforeEach(() => {
  zlibDecodes.length = 0;
});

describe("without the native small-frame decoder", () => {
  it("reports it missing with the reason, and decodeSmallFrame answers undefined", () => {
    expect(smallFrameDecoderAvailable()).toBe(false);
    expect(smallFrameDecoderLoadError()).toBe("Cannot find module 'zstd-napi/binding'");
    expect(decodeSmallFrame(compressZstd(utf8("abc")), 3)).toBeUndefined();
  });

  it("decodes small frames with node:zlib, sync and async", async () => {
    const data = utf8("payload ".repeat(20));
    expect(decompressZstd(compressZstd(data), { maxOutputBytes: 1000 })).toEqual(data);
    expect(await decompressZstdAsync(compressZstd(data), { maxOutputBytes: 1000 })).toEqual(data);
    expect(zlibDecodes).toHaveLength(2);
  });

  it("refuses a small frame holding fewer bytes than it declares", () => {
    // Single segment, content size 5, one raw block "abc".
    const frame = new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 0x20, 0x05, 0x19, 0x00, 0x00, 0x61, 0x62, 0x63]);
    expectInvalid(() => decompressZstd(frame, { maxOutputBytes: 10 }), "zstd data is not valid zstd data");
  });
});
