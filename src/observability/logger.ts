/**
 * The service's logger: pino, one JSON line per event on stderr. Bigints (ids)
 * are written as strings (DECISIONS D14) so log processors never round them.
 */
import { pino, type Logger } from "pino";

export type { Logger };

function bigintsToStrings(value: unknown, depth = 0): unknown {
  if (typeof value === "bigint") return value.toString();
  if (depth > 4 || value === null || typeof value !== "object" || value instanceof Error) return value;
  if (Array.isArray(value)) return value.map((v) => bigintsToStrings(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = bigintsToStrings(v, depth + 1);
  return out;
}

export function createLogger(options: { level?: string; name?: string } = {}): Logger {
  return pino(
    {
      name: options.name ?? "spider-storage",
      level: options.level ?? process.env["SPIDER_STORAGE_LOG_LEVEL"] ?? "info",
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ level: label }),
        log: (object) => bigintsToStrings(object) as Record<string, unknown>,
      },
    },
    pino.destination({ fd: 2, sync: false }),
  );
}

/** A logger that drops everything, for tests and tools that log elsewhere. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
