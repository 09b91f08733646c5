/**
 * Spider's wire frame (spec §1.6, `spider-utils/src/wire.rs`): a list of
 * opaque payloads, little-endian,
 *
 * ```
 * [count: u32 LE] then count × ([len: u32 LE] [len bytes])
 * ```
 *
 * Decoding fails on a buffer shorter than 4 bytes or a length running past the
 * end; bytes after the last payload are ignored, as Spider ignores them.
 * Decoded payloads are views into the given buffer (no copy).
 */
import { invalidArgument } from "./errors.ts";

const U32_MAX = 0xffff_ffff;

/** Size in bytes of the wire frame of `payloads`. */
export function wireFrameSize(payloads: readonly Uint8Array[]): number {
  let size = 4;
  for (const payload of payloads) {
    size += 4 + payload.length;
  }
  return size;
}

export function encodeWireFrame(payloads: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  if (payloads.length > U32_MAX) {
    throw invalidArgument(`wire frame: ${payloads.length} payloads exceed the u32 count limit`);
  }
  const out = new Uint8Array(wireFrameSize(payloads));
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  view.setUint32(0, payloads.length, true);
  let pos = 4;
  for (const payload of payloads) {
    if (payload.length > U32_MAX) {
      throw invalidArgument(`wire frame: a payload of ${payload.length} bytes exceeds the u32 length limit`);
    }
    view.setUint32(pos, payload.length, true);
    out.set(payload, pos + 4);
    pos += 4 + payload.length;
  }
  return out;
}

/** What {@link decodeWireFrame} must find, checked from the header before any payload is read. */
export interface WireFrameExpectation {
  /** The payload count the caller needs; any other count fails before a single view is built. */
  readonly count: number;
  /** The error for a different count. */
  readonly mismatch: (count: number) => Error;
}

/**
 * Splits a wire frame into its payloads. `what` names the buffer in errors
 * ("job inputs", "task outputs"). The count header is checked before any
 * payload is read against `expected` when given, so a count the caller cannot
 * use costs nothing; otherwise a huge count in a small buffer fails after at
 * most length/4 steps and allocates nothing up front.
 */
export function decodeWireFrame<B extends ArrayBufferLike>(
  bytes: Uint8Array<B>,
  what = "wire frame",
  expected?: WireFrameExpectation,
): Uint8Array<B>[] {
  if (bytes.length < 4) {
    throw invalidArgument(
      `${what}: buffer too small for the payload count header (${bytes.length} bytes, need 4)`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = view.getUint32(0, true);
  if (expected !== undefined && count !== expected.count) {
    throw expected.mismatch(count);
  }
  const payloads: Uint8Array<B>[] = [];
  let pos = 4;
  for (let i = 0; i < count; i += 1) {
    if (bytes.length - pos < 4) {
      throw invalidArgument(
        `${what}: unexpected end of buffer reading payload length (payload ${i} of ${count})`,
      );
    }
    const length = view.getUint32(pos, true);
    pos += 4;
    if (length > bytes.length - pos) {
      throw invalidArgument(
        `${what}: unexpected end of buffer reading payload data (payload ${i} of ${count} declares ${length} bytes, ${bytes.length - pos} remain)`,
      );
    }
    payloads.push(bytes.subarray(pos, pos + length));
    pos += length;
  }
  return payloads;
}
