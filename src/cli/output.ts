/**
 * What the CLI prints (DECISIONS D11): human-readable text by default —
 * aligned tables, "key: value" blocks, sizes and durations for people — and
 * with `--json` one JSON document on stdout for scripts: the admin API's
 * message (or the offline command's report) with its field names, 64-bit
 * numbers as strings, bytes as base64, every field present.
 */

export type Cell = string | number | bigint | boolean | null | undefined;

/** A JSON-ready copy: bigints as strings, bytes as base64, protobuf-es's `$typeName` dropped. */
export function toJsonValue(value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64");
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [String(k), toJsonValue(v)]));
  if (Array.isArray(value)) return value.map(toJsonValue);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(value)) {
      if (key === "$typeName" || field === undefined) continue;
      out[key] = toJsonValue(field);
    }
    return out;
  }
  return value;
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(toJsonValue(value), null, 2)}\n`);
}

export function print(text = ""): void {
  process.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
}

function cellText(cell: Cell): string {
  if (cell === null || cell === undefined) return "-";
  if (typeof cell === "boolean") return cell ? "yes" : "no";
  return String(cell);
}

/** An aligned table; columns whose every cell is a number are right-aligned. */
export function renderTable(headers: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const text = rows.map((row) => row.map(cellText));
  const numeric = headers.map((_, c) => rows.length > 0 && rows.every((row) => typeof row[c] === "number" || typeof row[c] === "bigint"));
  const widths = headers.map((header, c) => Math.max(header.length, ...text.map((row) => (row[c] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, c) => (numeric[c] ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!)))
      .join("  ")
      .trimEnd();
  return [line(headers), ...text.map(line)].join("\n");
}

/** "key: value" lines with the values aligned. */
export function renderFields(fields: readonly (readonly [string, Cell])[]): string {
  const width = Math.max(0, ...fields.map(([key]) => key.length + 1));
  return fields.map(([key, value]) => `${`${key}:`.padEnd(width)}  ${cellText(value)}`).join("\n");
}

export function formatBytes(bytes: number | bigint): string {
  const n = Number(bytes);
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

export function formatDuration(ms: number | bigint): string {
  const n = Number(ms);
  if (n < 1000) return `${Math.round(n)} ms`;
  const s = n / 1000;
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
  const parts: [number, string][] = [
    [Math.floor(s / 86400), "d"],
    [Math.floor((s % 86400) / 3600), "h"],
    [Math.floor((s % 3600) / 60), "m"],
    [Math.floor(s % 60), "s"],
  ];
  const first = parts.findIndex(([value]) => value > 0);
  return parts
    .slice(first, first + 2)
    .filter(([value]) => value > 0)
    .map(([value, unit]) => `${value} ${unit}`)
    .join(" ");
}

/** A Unix-ms time as `2024-05-01 12:00:00Z`; "-" for 0. */
export function formatTime(ms: number | bigint): string {
  const n = Number(ms);
  if (n === 0) return "-";
  return new Date(n).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

/** Time since a Unix-ms time, "-" for 0. */
export function formatAge(ms: number | bigint, now = Date.now()): string {
  const n = Number(ms);
  return n === 0 ? "-" : formatDuration(Math.max(0, now - n));
}

export function truncate(text: string, max: number): string {
  const oneLine = text.replace(/\s+/g, " ");
  return oneLine.length > max ? `${oneLine.slice(0, max - 1)}…` : oneLine;
}
