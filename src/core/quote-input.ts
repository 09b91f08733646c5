/**
 * Quoting caller-sent text in error messages. A message that echoes a whole
 * field lets one request write megabytes into a status, a log line or a
 * metric label (issue 17), so errors quote at most a short, escaped prefix
 * and the length.
 */

/** Most characters of caller-sent text an error message quotes. */
export const MAX_QUOTED_CHARS = 32;

/** `"abc"`, or `"abcdef…"… (1048576 characters)` when longer than `maxChars`: JSON-escaped, bounded. */
export function quoteInput(text: string, maxChars = MAX_QUOTED_CHARS): string {
  if (text.length <= maxChars) return JSON.stringify(text);
  let prefix = text.slice(0, maxChars);
  const last = prefix.charCodeAt(prefix.length - 1);
  if (last >= 0xd800 && last <= 0xdbff) prefix = prefix.slice(0, -1); // never split a surrogate pair
  return `${JSON.stringify(prefix)}… (${text.length} characters)`;
}
