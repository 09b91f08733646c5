/**
 * JSON for the console's pages: the admin use cases' answers with 64-bit
 * numbers as strings (DECISIONS D14) and protobuf-es's `$typeName` dropped —
 * the same form `--json` prints.
 */
export function jsonText(value: unknown): string {
  return JSON.stringify(value, (key, field: unknown) => {
    if (key === "$typeName") return undefined;
    if (typeof field === "bigint") return field.toString();
    return field;
  });
}
