/**
 * Random bytes as the request message of any fuzzed method: short and long
 * blobs, and well-formed requests (message-field-cases.ts) with bits flipped
 * or cut short. What the server's decoder makes of them decides the
 * expectation (expected-status.ts): INVALID_ARGUMENT when they do not decode,
 * the method's rule for the decoded fields when they do, the transport
 * limits above the size caps.
 */
import fc from "fast-check";
import { FUZZ_MAX_CONTROL_REQUEST_BYTES } from "./fuzz-environment.ts";
import { buildMessageFields, messageFieldsCase, type MessageFieldsCase } from "./message-field-cases.ts";
import { ALL_METHODS } from "./rpc-methods.ts";
import type { FuzzWorld } from "./fuzz-environment.ts";

export type RandomBytesCase =
  | { readonly method: string; readonly blob: Uint8Array }
  | { readonly method: string; readonly oversized: number }
  | { readonly method: string; readonly from: MessageFieldsCase; readonly flips: readonly number[]; readonly cut: number | null };

export const randomBytesCase: fc.Arbitrary<RandomBytesCase> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({ method: fc.constantFrom(...ALL_METHODS.map((m) => m.name)), blob: fc.oneof(fc.uint8Array({ maxLength: 24 }), fc.uint8Array({ maxLength: 2_048 })) }),
  },
  {
    weight: 4,
    arbitrary: messageFieldsCase.chain((from) =>
      fc.record({
        method: fc.constant(from.method),
        from: fc.constant(from),
        flips: fc.array(fc.nat(), { minLength: 1, maxLength: 4 }),
        cut: fc.option(fc.double({ min: 0, max: 1, noNaN: true }).map((x) => x), { nil: null }),
      }),
    ),
  },
  {
    // Zeros past the control cap (methods without payload) or the 4 MiB request cap.
    weight: 1,
    arbitrary: fc.record({
      method: fc.constantFrom(...ALL_METHODS.map((m) => m.name)),
      oversized: fc.constantFrom(FUZZ_MAX_CONTROL_REQUEST_BYTES + 1, 4 * 1024 * 1024 + 1),
    }),
  },
);

export function buildRandomBytes(c: RandomBytesCase, world: FuzzWorld): Uint8Array {
  if ("blob" in c) return c.blob;
  if ("oversized" in c) {
    // One unknown length-delimited field (number 15) filling the size: decodable, so only the size decides.
    const bytes = new Uint8Array(c.oversized);
    bytes[0] = (15 << 3) | 2;
    let length = c.oversized - 1;
    let at = 1;
    const header: number[] = [];
    for (let n = length; ; ) {
      header.push(n);
      if (n < 0x80) break;
      n >>>= 7;
    }
    length -= header.length;
    let v = length;
    do {
      let byte = v & 0x7f;
      v >>>= 7;
      if (v > 0) byte |= 0x80;
      bytes[at++] = byte;
    } while (v > 0);
    return bytes.subarray(0, at + length);
  }
  const base = buildMessageFields(c.from, world).slice();
  if (base.length === 0) return base;
  for (const flip of c.flips) base[flip % base.length]! ^= 1 << (flip % 8);
  return c.cut === null ? base : base.subarray(0, Math.floor(c.cut * base.length));
}
