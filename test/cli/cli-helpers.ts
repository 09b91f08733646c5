/**
 * Running the real `spider-storage` CLI in tests: `node src/cli/main.ts …`
 * as a child process (never through npm/npx, DECISIONS D1), with its exit
 * code, stdout and stderr; and small helpers the CLI test files share.
 */
import { spawn } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";
import { createDb, type Db } from "../../src/db/connection.ts";
import { CLI_MAIN, REPO_ROOT } from "../../testkit/server-process.ts";

export interface CliResult {
  readonly args: readonly string[];
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Node's on-disk compile cache halves the CLI's start-up (most of it is compiling TypeScript modules). */
const COMPILE_CACHE = join(tmpdir(), "spider-storage-test-compile-cache");

export async function runCli(args: readonly string[], options: { env?: Record<string, string | undefined>; timeoutMs?: number } = {}): Promise<CliResult> {
  const env: Record<string, string | undefined> = { NODE_COMPILE_CACHE: COMPILE_CACHE, ...process.env, ...options.env };
  if (options.env?.["SPIDER_STORAGE_RUNTIME__ADMIN__TOKEN"] === undefined) delete env["SPIDER_STORAGE_RUNTIME__ADMIN__TOKEN"];
  const child = spawn(process.execPath, [CLI_MAIN, ...args], { cwd: REPO_ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 60_000);
  const code = await new Promise<number | null>((resolve) => child.once("close", (exitCode) => resolve(exitCode)));
  clearTimeout(timer);
  return { args, code, stdout, stderr };
}

/** Asserts the exit code, showing the whole run when it differs. */
export function expectExit(result: CliResult, code: number): CliResult {
  expect(result.code, `spider-storage ${result.args.join(" ")}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`).toBe(code);
  return result;
}

/** A failure: the exit code, one clear line on stderr, no stack trace. */
export function expectCleanFailure(result: CliResult, code: number, message: RegExp): void {
  expectExit(result, code);
  expect(result.stderr).toMatch(message);
  expect(result.stderr).not.toMatch(/\n\s+at /);
}

/** The parsed --json output of a successful run. */
export function jsonOf<T = any>(result: CliResult): T {
  expectExit(result, 0);
  return JSON.parse(result.stdout) as T;
}

export function openDb(url: string): Db {
  return createDb({ url, maxConnections: 2 });
}

