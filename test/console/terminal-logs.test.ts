/**
 * Logs that read like a terminal's: pretty coloured lines when stderr is a
 * terminal, JSON when it is not or with --log-format json, --log-format
 * pretty to force them; levels in Rust's spelling (INFO, DEBUG) and from
 * RUST_LOG, so `spider-storage --config storage.yaml` with Spider's image's
 * environment logs as asked. The process tests run the real server; the
 * terminal is a pseudo-terminal from util-linux's `script`.
 */
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, resolveConfig } from "../../src/config/load-config.ts";
import { logLevelFromRustLog, normalizeLogLevel } from "../../src/observability/log-level.ts";
import { resolveLogFormat } from "../../src/observability/logger.ts";
import { freePort } from "../../testkit/free-port.ts";
import { CLI_MAIN, REPO_ROOT, ServerProcess } from "../../testkit/server-process.ts";
import { testDatabase } from "../../testkit/test-database.ts";
import { waitFor } from "../../testkit/wait-for.ts";

const ESCAPE = "\u001b[";
/** A pretty line: time, level, message. */
const PRETTY_LINE = /^\[\d\d:\d\d:\d\d\.\d{3}\] (INFO|WARN|DEBUG|ERROR): /m;

describe("log levels and formats", () => {
  it("reads Rust's level names and RUST_LOG directives", () => {
    expect(["INFO", "Debug", "WARN", "warning", "off", "TRACE", "error"].map(normalizeLogLevel)).toEqual(["info", "debug", "warn", "warn", "silent", "trace", "error"]);
    expect(normalizeLogLevel("verbose")).toBeUndefined();
    expect(logLevelFromRustLog("INFO")).toBe("info");
    expect(logLevelFromRustLog("warn,spider_storage=debug")).toBe("debug");
    expect(logLevelFromRustLog("spider_storage::grpc=TRACE,info")).toBe("trace");
    expect(logLevelFromRustLog("tonic=trace,error")).toBe("error");
    expect(logLevelFromRustLog("h2=debug")).toBeUndefined();
    expect(logLevelFromRustLog("nonsense")).toBeUndefined();
  });

  it("picks pretty on a terminal, JSON elsewhere, unless told", () => {
    expect(resolveLogFormat("auto", true)).toBe("pretty");
    expect(resolveLogFormat("auto", false)).toBe("json");
    expect(resolveLogFormat("json", true)).toBe("json");
    expect(resolveLogFormat("pretty", false)).toBe("pretty");
  });

  it("accepts Rust's spelling in the configuration; refuses an unknown format", () => {
    expect(resolveConfig({ env: { SPIDER_STORAGE_LOG_LEVEL: "DEBUG" } }).config.log_level).toBe("debug");
    expect(resolveConfig({ flags: { log_format: "json" } }).config.log_format).toBe("json");
    expect(() => resolveConfig({ flags: { log_format: "fancy" } })).toThrow(ConfigError);
    expect(() => resolveConfig({ env: { SPIDER_STORAGE_LOG_LEVEL: "loud" } })).toThrow(/log_level/);
  });
});

describe("the server's log lines", () => {
  let databaseUrl: string;
  let dir: string;

  beforeAll(async () => {
    databaseUrl = await testDatabase("terminal_logs");
    dir = await mkdtemp(join(tmpdir(), "terminal-logs-"));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Runs the server until it serves, stops it, and returns everything it logged. */
  async function logsOf(options: { args?: string[]; env?: Record<string, string>; databaseUrl?: string }): Promise<string> {
    const server = await ServerProcess.start({
      ...(options.databaseUrl === undefined ? {} : { databaseUrl: options.databaseUrl }),
      args: options.args ?? [],
      // ServerProcess sets SPIDER_STORAGE_LOG_LEVEL=info; empty is "not set".
      env: { SPIDER_STORAGE_RUNTIME__CONSOLE__ENABLED: "false", SPIDER_STORAGE_LOG_LEVEL: "", ...options.env },
    });
    try {
      await server.waitServing();
    } finally {
      await server.stop();
    }
    return server.logs;
  }

  it("`--config storage.yaml` with Spider's RUST_LOG=DEBUG: JSON lines at debug, as Spider's image logs", async () => {
    const url = new URL(databaseUrl);
    const yaml = join(dir, "storage.yaml");
    await writeFile(
      yaml,
      [
        "host: 127.0.0.1",
        "port: 50051",
        "runtime:",
        "  db:",
        `    host: ${url.hostname}`,
        `    port: ${url.port}`,
        `    name: ${url.pathname.slice(1)}`,
        "    max_connections: 4",
        "    credentials:",
        `      username: ${decodeURIComponent(url.username)}`,
        `      password: "${decodeURIComponent(url.password)}"`,
      ].join("\n"),
    );
    const logs = await logsOf({ args: ["--config", yaml], env: { RUST_LOG: "DEBUG" } });
    const lines = logs.split("\n").filter((line) => line.trim() !== "").map((line) => JSON.parse(line) as { level: string; msg: string });
    expect(lines.find((line) => line.msg === "configuration")?.level).toBe("debug");
    expect(lines.find((line) => line.msg === "serving")?.level).toBe("info");
  });

  it("RUST_LOG=warn leaves out info lines; SPIDER_STORAGE_LOG_LEVEL beats RUST_LOG", async () => {
    const [quiet, ours] = await Promise.all([
      logsOf({ databaseUrl, env: { RUST_LOG: "warn" } }),
      logsOf({ databaseUrl: await testDatabase("terminal_logs_b"), env: { RUST_LOG: "warn", SPIDER_STORAGE_LOG_LEVEL: "INFO" } }),
    ]);
    expect(quiet).not.toContain('"level":"info"');
    expect(ours).toContain('"msg":"serving"');
  });

  it("--log-format pretty: one readable line per event, without colours when stderr is no terminal", async () => {
    const logs = await logsOf({ databaseUrl, args: ["--log-format", "pretty"] });
    expect(logs).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: serving \{"session":"\d+",.*\}$/m);
    expect(logs).toMatch(PRETTY_LINE);
    expect(logs).not.toContain(ESCAPE);
    expect(logs).not.toContain('"level":');
  });

  /** Runs the server on a pseudo-terminal (util-linux `script`) until it serves; returns what the terminal showed. */
  async function terminalOf(extraArgs: string[]): Promise<string> {
    const port = await freePort();
    const command = [process.execPath, CLI_MAIN, "serve", "--host", "127.0.0.1", "--port", String(port), "--database-url", databaseUrl, ...extraArgs]
      .map((arg) => `'${arg.replaceAll("'", "'\\''")}'`)
      .join(" ");
    const child = spawn("script", ["-qfec", command, "/dev/null"], {
      cwd: REPO_ROOT,
      env: { ...process.env, SPIDER_STORAGE_LOG_LEVEL: "info", SPIDER_STORAGE_RUNTIME__CONSOLE__ENABLED: "false" },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true, // its own process group, should the server be gone before script
    });
    let screen = "";
    child.stdout.on("data", (chunk: Buffer) => (screen += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (screen += chunk.toString()));
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    try {
      await waitFor(() => `the server to serve on a terminal:\n${screen.slice(-2000)}`, () => /INFO: serving |"msg":"serving"/.test(screen.replaceAll(/\u001b\[[0-9;]*m/g, "")));
    } finally {
      // SIGTERM the server itself (script's child): script then ends with it. Signalling script makes it wait seconds.
      const children = await readFile(`/proc/${child.pid}/task/${child.pid}/children`, "utf8").catch(() => "");
      const server = Number(children.trim().split(/\s+/)[0]);
      process.kill(server > 0 ? server : -child.pid!, "SIGTERM");
      await exited;
    }
    return screen;
  }

  it("on a terminal: coloured pretty lines by default, JSON with --log-format json", async () => {
    const pretty = await terminalOf([]);
    expect(pretty).toContain(ESCAPE);
    expect(pretty.replaceAll(/\u001b\[[0-9;]*m/g, "").replaceAll("\r", "")).toMatch(PRETTY_LINE);
    const json = await terminalOf(["--log-format", "json"]);
    expect(json).not.toContain(ESCAPE);
    expect(json).toContain('"msg":"serving"');
  });
});
