/**
 * Bytes the cache keeps must not pin a larger buffer: a task's outputs arrive
 * as a view into the whole gRPC request (and job inputs into the whole
 * decompressed payload), so keeping the view would hold every byte of that
 * buffer while only the view's length is counted. Kept bytes are copied into
 * a buffer of their own size, so held bytes equal counted bytes.
 */
export function ownedBytes(bytes: Uint8Array): Uint8Array {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength) return bytes;
  return new Uint8Array(bytes); // a copy into a new ArrayBuffer of exactly this length
}

/** Bytes of the distinct buffers behind these arrays: what keeping them really costs. */
export function retainedBufferBytes(arrays: Iterable<Uint8Array | undefined | null>): number {
  const seen = new Set<ArrayBufferLike>();
  let total = 0;
  for (const array of arrays) {
    if (array == null || seen.has(array.buffer)) continue;
    seen.add(array.buffer);
    total += array.buffer.byteLength;
  }
  return total;
}
