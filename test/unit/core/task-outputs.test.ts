/**
 * SerializedTaskOutputs raw encoding (spec §1.6, spider-core/src/types/io.rs):
 * option byte, Spider's exact errors, and the compression threshold
 * (compress iff the payloads add up to more than 1024 bytes).
 */
import { describe, expect, it } from "vitest";
import {
  chooseTaskOutputsOption,
  decodeTaskOutputs,
  encodeTaskOutputs,
  TASK_OUTPUTS_OPTION_WIRE,
  TASK_OUTPUTS_OPTION_ZSTD_WIRE,
} from "../../../src/core/task-outputs.ts";
import { encodeWireFrame } from "../../../src/core/wire-frame.ts";
import { compressZstd, decompressZstd } from "../../../src/core/zstd.ts";
import { bytes, concat, expectInvalid, utf8 } from "./helpers.ts";

const BUDGET = { maxOutputBytes: 1 << 20 };

describe("encodeTaskOutputs", () => {
  it("writes option 0 and the wire frame for small outputs", () => {
    expect(encodeTaskOutputs([])).toEqual(bytes(0, 0, 0, 0, 0));
    expect(encodeTaskOutputs([utf8("a")])).toEqual(bytes(0, 1, 0, 0, 0, 1, 0, 0, 0, 0x61));
    expect(encodeTaskOutputs([utf8("a"), new Uint8Array()])).toEqual(bytes(0, 2, 0, 0, 0, 1, 0, 0, 0, 0x61, 0, 0, 0, 0));
  });

  it("compresses iff the payloads add up to more than 1024 bytes", () => {
    const at = [new Uint8Array(1000), new Uint8Array(24)];
    const above = [new Uint8Array(1000), new Uint8Array(25)];
    expect(chooseTaskOutputsOption(at)).toBe(TASK_OUTPUTS_OPTION_WIRE);
    expect(chooseTaskOutputsOption(above)).toBe(TASK_OUTPUTS_OPTION_ZSTD_WIRE);
    expect(encodeTaskOutputs(at)[0]).toBe(0);
    expect(encodeTaskOutputs(at)).toEqual(concat(bytes(0), encodeWireFrame(at)));
    const raw = encodeTaskOutputs(above);
    expect(raw[0]).toBe(1);
    // The body is zstd of exactly the wire frame, with the frame magic first.
    expect([...raw.subarray(1, 5)]).toEqual([0x28, 0xb5, 0x2f, 0xfd]);
    expect(decompressZstd(raw.subarray(1), BUDGET)).toEqual(encodeWireFrame(above));
    expect(raw.length).toBeLessThan(200);
  });

  it("takes an explicit option", () => {
    expect(encodeTaskOutputs([utf8("a")], TASK_OUTPUTS_OPTION_ZSTD_WIRE)[0]).toBe(1);
    expect(encodeTaskOutputs([new Uint8Array(5000)], TASK_OUTPUTS_OPTION_WIRE)).toHaveLength(1 + 4 + 4 + 5000);
  });
});

describe("decodeTaskOutputs", () => {
  it("reads both options, whatever the size", () => {
    const small = [utf8("x"), utf8("yz")];
    const large = [new Uint8Array(3000).fill(1), utf8("tail")];
    for (const payloads of [small, large, []]) {
      expect(decodeTaskOutputs(encodeTaskOutputs(payloads, 0), BUDGET)).toEqual(payloads);
      expect(decodeTaskOutputs(encodeTaskOutputs(payloads, 1), BUDGET)).toEqual(payloads);
      expect(decodeTaskOutputs(encodeTaskOutputs(payloads), BUDGET)).toEqual(payloads);
    }
  });

  it("reads a literal vector", () => {
    expect(decodeTaskOutputs(bytes(0, 2, 0, 0, 0, 1, 0, 0, 0, 0x61, 0, 0, 0, 0), BUDGET)).toEqual([utf8("a"), new Uint8Array()]);
    expect(decodeTaskOutputs(concat(bytes(1), compressZstd(bytes(1, 0, 0, 0, 1, 0, 0, 0, 0x61))), BUDGET)).toEqual([utf8("a")]);
  });

  it("says what Spider says for an empty buffer and an unknown option", () => {
    expect(expectInvalid(() => decodeTaskOutputs(new Uint8Array(), BUDGET)).message).toBe("raw task outputs buffer is empty");
    expect(expectInvalid(() => decodeTaskOutputs(bytes(2, 0, 0, 0, 0), BUDGET)).message).toBe("unknown task outputs serialize option: 2");
    expect(expectInvalid(() => decodeTaskOutputs(bytes(255), BUDGET)).message).toBe("unknown task outputs serialize option: 255");
  });

  it("rejects a bad body", () => {
    expectInvalid(() => decodeTaskOutputs(bytes(0), BUDGET), "task outputs: buffer too small for the payload count header");
    expectInvalid(() => decodeTaskOutputs(bytes(0, 1, 0, 0, 0, 5, 0, 0, 0), BUDGET), "task outputs: unexpected end of buffer reading payload data");
    expectInvalid(() => decodeTaskOutputs(bytes(1), BUDGET), "task outputs is empty, expected zstd-compressed data");
    expectInvalid(() => decodeTaskOutputs(concat(bytes(1), utf8("not zstd at all")), BUDGET), "task outputs is not valid zstd data");
    expectInvalid(() => decodeTaskOutputs(concat(bytes(1), compressZstd(bytes(1, 0))), BUDGET), "task outputs: buffer too small");
  });

  it("decompresses under the budget and names the limit", () => {
    const raw = encodeTaskOutputs([new Uint8Array(100_000)]);
    expect(decodeTaskOutputs(raw, { maxOutputBytes: 100_008 })[0]).toHaveLength(100_000);
    expectInvalid(
      () => decodeTaskOutputs(raw, { maxOutputBytes: 100_007, what: "job outputs", limitName: "runtime.limits.max_decompressed_bytes" }),
      "job outputs decompresses to more than 100007 bytes, above the limit of 100007 bytes (runtime.limits.max_decompressed_bytes)",
    );
  });
});
