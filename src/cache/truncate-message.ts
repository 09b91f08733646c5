/**
 * Cuts a job's error message to what the store can hold (issue #16 A): an
 * execution manager may report a failure message of any size, and one that
 * does not fit would fail the job's Failed transition on every attempt.
 */
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The message, or its first bytes (on a character boundary) with a note saying how long it was. */
export function truncateMessage(message: string, maxBytes: number): string {
  // A UTF-16 code unit is at most 3 UTF-8 bytes: short messages need no encoding.
  if (message.length * 3 <= maxBytes) return message;
  const bytes = encoder.encode(message);
  if (bytes.length <= maxBytes) return message;
  const note = ` … [truncated: ${bytes.length} bytes, ${maxBytes} kept]`;
  let end = Math.max(0, maxBytes - encoder.encode(note).length);
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--; // not inside a UTF-8 sequence
  return decoder.decode(bytes.subarray(0, end)) + note;
}
