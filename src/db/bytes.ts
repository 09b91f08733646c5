/** Byte-array helpers shared by the operations of src/db. */

/** Views any Uint8Array as a Buffer without copying (mysql2 sends Buffers as binary). */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
