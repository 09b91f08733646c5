/**
 * Log level names as operators write them. Ours are pino's (`info`,
 * `debug`, …); Spider's image sets Rust's (`INFO`, `DEBUG`, `WARN`, `off`)
 * through `RUST_LOG`, whose value may also be a list of directives
 * (`warn,spider_storage=debug`). Both spellings are accepted, so a
 * deployment written for Spider logs at the level it asks for.
 */

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

export type LogLevel = (typeof LOG_LEVELS)[number];

/** Rust's spellings that differ from pino's. */
const ALIASES: Readonly<Record<string, LogLevel>> = { off: "silent", warning: "warn", none: "silent" };

/** `INFO` → `info`, `off` → `silent`; undefined when the text names no level. */
export function normalizeLogLevel(text: string): LogLevel | undefined {
  const name = text.trim().toLowerCase();
  if ((LOG_LEVELS as readonly string[]).includes(name)) return name as LogLevel;
  return ALIASES[name];
}

/**
 * The level a `RUST_LOG` value asks of this service: a directive for a
 * `spider…` target wins over the bare default level (`warn,spider_storage=debug`
 * → debug); directives for other crates are not ours and are skipped.
 * Undefined when nothing in it applies or parses.
 */
export function logLevelFromRustLog(value: string): LogLevel | undefined {
  let fallback: LogLevel | undefined;
  for (const directive of value.split(",")) {
    const text = directive.trim();
    if (text === "") continue;
    const equals = text.lastIndexOf("=");
    if (equals < 0) {
      fallback = normalizeLogLevel(text) ?? fallback;
      continue;
    }
    const target = text.slice(0, equals).trim().toLowerCase();
    const level = normalizeLogLevel(text.slice(equals + 1));
    if (level !== undefined && target.startsWith("spider")) return level;
  }
  return fallback;
}
