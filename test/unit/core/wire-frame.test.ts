/**
 * Wire frames (spec §1.6, spider-utils/src/wire.rs), byte for byte: layout,
 * trailing bytes ignored, every truncation an error, and a hostile count
 * that cannot make the decoder allocate or loop past the buffer.
 */
import { describe, expect, it } from "vitest";
import { decodeWireFrame, encodeWireFrame, wireFrameSize } from "../../../src/core/wire-frame.ts";
import { bytes, expectInvalid, utf8 } from "./helpers.ts";

describe("encodeWireFrame", () => {
  it("writes the count then each length-prefixed payload, little-endian", () => {
    expect(encodeWireFrame([])).toEqual(bytes(0, 0, 0, 0));
    expect(encodeWireFrame([new Uint8Array()])).toEqual(bytes(1, 0, 0, 0, 0, 0, 0, 0));
    expect(encodeWireFrame([utf8("a"), utf8("bc")])).toEqual(
      bytes(2, 0, 0, 0, 1, 0, 0, 0, 0x61, 2, 0, 0, 0, 0x62, 0x63),
    );
    const long = new Uint8Array(0x1_02_03).fill(7);
    const frame = encodeWireFrame([long]);
    expect([...frame.subarray(0, 8)]).toEqual([1, 0, 0, 0, 0x03, 0x02, 0x01, 0x00]);
    expect(frame.length).toBe(8 + 0x1_02_03);
    expect(wireFrameSize([long])).toBe(frame.length);
  });

  it("copies payloads that are views into bigger buffers", () => {
    const backing = utf8("xxhelloxx");
    expect(encodeWireFrame([backing.subarray(2, 7)])).toEqual(bytes(1, 0, 0, 0, 5, 0, 0, 0, 0x68, 0x65, 0x6c, 0x6c, 0x6f));
  });
});

describe("decodeWireFrame", () => {
  it("reads what encodeWireFrame writes", () => {
    expect(decodeWireFrame(bytes(0, 0, 0, 0))).toEqual([]);
    expect(decodeWireFrame(bytes(2, 0, 0, 0, 1, 0, 0, 0, 0x61, 2, 0, 0, 0, 0x62, 0x63))).toEqual([utf8("a"), utf8("bc")]);
    expect(decodeWireFrame(bytes(1, 0, 0, 0, 0, 0, 0, 0))).toEqual([new Uint8Array()]);
  });

  it("ignores bytes after the last payload, as Spider does", () => {
    expect(decodeWireFrame(bytes(1, 0, 0, 0, 1, 0, 0, 0, 0x61, 0xff, 0xff, 0xff))).toEqual([utf8("a")]);
    expect(decodeWireFrame(bytes(0, 0, 0, 0, 9, 9, 9, 9, 9))).toEqual([]);
  });

  it("returns views into the buffer, not copies", () => {
    const frame = bytes(1, 0, 0, 0, 2, 0, 0, 0, 0x61, 0x62);
    const [payload] = decodeWireFrame(frame);
    expect(payload!.buffer).toBe(frame.buffer);
    expect(payload!.byteOffset).toBe(8);
  });

  it("decodes a frame that is itself a view at an offset", () => {
    const backing = bytes(0xee, 0xee, 1, 0, 0, 0, 1, 0, 0, 0, 0x7a);
    expect(decodeWireFrame(backing.subarray(2))).toEqual([utf8("z")]);
  });

  it.each([
    [[], "buffer too small for the payload count header (0 bytes, need 4)"],
    [[1, 0, 0], "buffer too small for the payload count header (3 bytes, need 4)"],
    [[1, 0, 0, 0], "unexpected end of buffer reading payload length (payload 0 of 1)"],
    [[1, 0, 0, 0, 1, 0, 0], "unexpected end of buffer reading payload length (payload 0 of 1)"],
    [[1, 0, 0, 0, 2, 0, 0, 0, 0x61], "unexpected end of buffer reading payload data (payload 0 of 1 declares 2 bytes, 1 remain)"],
    [[2, 0, 0, 0, 0, 0, 0, 0], "unexpected end of buffer reading payload length (payload 1 of 2)"],
    [[1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 1, 2], "unexpected end of buffer reading payload data (payload 0 of 1 declares 4294967295 bytes, 2 remain)"],
  ])("rejects %j", (input, message) => {
    expectInvalid(() => decodeWireFrame(new Uint8Array(input)), `wire frame: ${message}`);
  });

  it("names the buffer in errors", () => {
    expectInvalid(() => decodeWireFrame(bytes(1), "job inputs"), /^job inputs: buffer too small/);
  });

  // The messages show where decoding stopped: at the first payload the buffer lacks, not after walking the declared count.
  it("fails fast on a huge count in a small buffer", () => {
    expectInvalid(() => decodeWireFrame(bytes(0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0)), "payload 1 of 4294967295");
    const many = new Uint8Array(4 + 4 * 100_000);
    many.set([0xff, 0xff, 0xff, 0xff]);
    expectInvalid(() => decodeWireFrame(many), "payload 100000 of 4294967295");
  });
});
