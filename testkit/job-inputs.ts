/** What Spider's client sends as `compressed_serialized_inputs`: the zstd of the payloads' wire frame. */
import { encodeWireFrame } from "../src/core/wire-frame.ts";
import { compressZstd } from "../src/core/zstd.ts";

export function compressJobInputs(payloads: readonly Uint8Array[], level?: number): Uint8Array<ArrayBuffer> {
  return compressZstd(encodeWireFrame(payloads), level);
}
