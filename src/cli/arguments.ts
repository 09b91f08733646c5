/**
 * Parsers of command-line values. A bad value is a usage error (exit 2) with
 * a message that names the value and what was expected — never a stack trace.
 */
import { InvalidArgumentError } from "commander";

const UINT64_MAX = (1n << 64n) - 1n;

/** A positive decimal id (job, execution manager, resource group). */
export function parseId(what: string): (text: string) => bigint {
  return (text) => {
    if (!/^\d{1,20}$/.test(text.trim())) throw new InvalidArgumentError(`expected a ${what} (a decimal number), got "${text}"`);
    const id = BigInt(text.trim());
    if (id === 0n || id > UINT64_MAX) throw new InvalidArgumentError(`${what} ${text} is out of range`);
    return id;
  };
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** A duration: `90s`, `15m`, `2h`, `7d`, `1w`, `250ms`; a bare number is seconds. Returns milliseconds. */
export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?$/.exec(text.trim());
  if (match === null) throw new InvalidArgumentError(`expected a duration such as 30s, 15m, 2h or 7d, got "${text}"`);
  return Math.round(Number(match[1]) * UNIT_MS[match[2] ?? "s"]!);
}

/** An integer in [min, max]. */
export function parseInteger(min: number, max: number): (text: string) => number {
  return (text) => {
    if (!/^\d+$/.test(text.trim())) throw new InvalidArgumentError(`expected an integer ${min}..${max}, got "${text}"`);
    const value = Number(text.trim());
    if (value < min || value > max) throw new InvalidArgumentError(`expected an integer ${min}..${max}, got ${text}`);
    return value;
  };
}

/** Collects a repeatable, comma-separable option (`--state running --state failed,cancelled`). */
export function collectList(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(",").map((v) => v.trim()).filter((v) => v !== "")];
}
