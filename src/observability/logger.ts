/**
 * The service's logger: pino on stderr. Bigints (ids) are written as strings
 * (DECISIONS D14) so log processors never round them.
 *
 * Two formats: one JSON object per line, for log shippers; or, for a person
 * at a terminal, one coloured line per event (pino-pretty: time, level,
 * message, then the fields). `auto` picks pretty when stderr — where the lines
 * go — is a terminal, JSON otherwise; `--log-format` forces either.
 */
import { createRequire } from "node:module";
import { pino, type DestinationStream, type Logger } from "pino";
import type * as PinoPretty from "pino-pretty";
import { normalizeLogLevel, type LogLevel } from "./log-level.ts";

export type { Logger };

export type LogFormat = "auto" | "json" | "pretty";

function bigintsToStrings(value: unknown, depth = 0): unknown {
  if (typeof value === "bigint") return value.toString();
  if (depth > 4 || value === null || typeof value !== "object" || value instanceof Error) return value;
  if (Array.isArray(value)) return value.map((v) => bigintsToStrings(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = bigintsToStrings(v, depth + 1);
  return out;
}

/** Pretty or JSON, as `auto` resolves on this process (stderr a terminal → pretty). */
export function resolveLogFormat(format: LogFormat, stderrIsTerminal: boolean = process.stderr.isTTY === true): "json" | "pretty" {
  if (format === "auto") return stderrIsTerminal ? "pretty" : "json";
  return format;
}

/** Where the lines go: fd 2 as JSON, or through pino-pretty to fd 2. */
function destination(format: "json" | "pretty", colorize: boolean): DestinationStream {
  if (format === "json") return pino.destination({ fd: 2, sync: false });
  // Loaded only for a person's terminal: a server logging JSON starts without it (issue 20.5).
  const prettyStream = (createRequire(import.meta.url)("pino-pretty") as typeof PinoPretty).build;
  return prettyStream({
    destination: 2,
    // Synchronous, so a fatal line is on the screen before the process exits.
    sync: true,
    colorize,
    singleLine: true,
    translateTime: "SYS:HH:MM:ss.l",
    ignore: "pid,hostname,name",
  });
}

export interface LoggerOptions {
  readonly level?: string;
  readonly name?: string;
  /** Default: SPIDER_STORAGE_LOG_FORMAT, else auto. */
  readonly format?: LogFormat;
  /** Colours in pretty lines; default: when stderr is a terminal. */
  readonly colorize?: boolean;
}

/** The format SPIDER_STORAGE_LOG_FORMAT (log_format's variable) names, if it names one. */
function formatFromEnv(): LogFormat | undefined {
  const value = process.env["SPIDER_STORAGE_LOG_FORMAT"]?.trim().toLowerCase();
  return value === "auto" || value === "json" || value === "pretty" ? value : undefined;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const format = resolveLogFormat(options.format ?? formatFromEnv() ?? "auto");
  return pino(
    {
      name: options.name ?? "spider-storage",
      level: normalizeLogLevel(options.level ?? process.env["SPIDER_STORAGE_LOG_LEVEL"] ?? "info") ?? "info",
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ level: label }),
        log: (object) => bigintsToStrings(object) as Record<string, unknown>,
      },
    },
    destination(format, options.colorize ?? process.stderr.isTTY === true),
  );
}

/** A logger that drops everything, for tests and tools that log elsewhere. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}

export type { LogLevel };
