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

/**
 * {@link ownedBytes} for several arrays kept together (a job's inputs, one
 * task's outputs): one buffer of their total size with a view per array, so a
 * job of many small payloads does not pay an ArrayBuffer's overhead (about
 * 200 bytes of RSS here) for each of them. Held bytes still equal counted bytes.
 */
export function packedCopies(arrays: readonly Uint8Array[]): Uint8Array[] {
  if (arrays.length === 1) return [ownedBytes(arrays[0]!)];
  let total = 0;
  for (const array of arrays) total += array.length;
  const buffer = new ArrayBuffer(total);
  const views: Uint8Array[] = new Array<Uint8Array>(arrays.length);
  let offset = 0;
  for (let i = 0; i < arrays.length; i++) {
    const view = new Uint8Array(buffer, offset, arrays[i]!.length);
    view.set(arrays[i]!);
    views[i] = view;
    offset += view.length;
  }
  return views;
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
