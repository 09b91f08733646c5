/**
 * Runs the real server as a child process (`node src/cli/main.ts serve`), the
 * way operators run it: never through npm or npx (DECISIONS D1), so SIGKILL
 * reaches the server itself.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import { createPromiseClient } from "../src/grpc/adapter.ts";
import { SessionManagementService } from "../src/gen/storage/storage_pb.ts";
import { freePort } from "./free-port.ts";
import { waitFor } from "./wait-for.ts";

export const REPO_ROOT = fileURLToPath(new URL("../", import.meta.url));
export const CLI_MAIN = fileURLToPath(new URL("../src/cli/main.ts", import.meta.url));
/** The `bin` entry `npm start` runs (checks the Node version, turns the compile cache on, then loads main.ts). */
export const CLI_BIN = fileURLToPath(new URL("../src/cli/spider-storage.js", import.meta.url));

export interface ServerProcessOptions {
  readonly databaseUrl?: string;
  readonly port?: number;
  readonly args?: readonly string[];
  readonly env?: Record<string, string>;
  /** Echo the server's log lines to this test's stderr. */
  readonly echoLogs?: boolean;
  /** The script run: src/cli/main.ts unless told (the bench's start-up runs the `bin` entry, as `npm start` does). */
  readonly entry?: string;
}

export class ServerProcess {
  readonly port: number;
  readonly address: string;
  readonly child: ChildProcess;
  logs = "";
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(port: number, child: ChildProcess, echo: boolean) {
    this.port = port;
    this.address = `127.0.0.1:${port}`;
    this.child = child;
    const collect = (chunk: Buffer) => {
      const text = chunk.toString();
      this.logs = (this.logs + text).slice(-200_000);
      if (echo) process.stderr.write(text);
    };
    child.stdout?.on("data", collect);
    child.stderr?.on("data", collect);
    this.exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  }

  static async start(options: ServerProcessOptions): Promise<ServerProcess> {
    const port = options.port ?? (await freePort());
    const args = [options.entry ?? CLI_MAIN, "serve", "--host", "127.0.0.1", "--port", String(port)];
    if (options.databaseUrl) args.push("--database-url", options.databaseUrl);
    args.push(...(options.args ?? []));
    const child = spawn(process.execPath, args, {
      cwd: REPO_ROOT,
      env: { ...process.env, SPIDER_STORAGE_LOG_LEVEL: "info", ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    return new ServerProcess(port, child, options.echoLogs ?? process.env["SPIDER_TEST_ECHO_SERVER"] === "1");
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resolves with the session id once the server answers GetSession. */
  async waitServing(timeoutMs = 60_000): Promise<bigint> {
    const client = createPromiseClient(SessionManagementService, this.address);
    try {
      return await waitFor(
        () => `the server to serve:\n${this.logs.slice(-4000)}`,
        async () => {
          if (!this.running) throw new Error(`server exited before serving:\n${this.logs.slice(-4000)}`);
          try {
            return (await client.getSession({}, { deadlineMs: 1_000 })).sessionId;
          } catch (error) {
            const code = (error as grpc.ServiceError).code;
            if (code !== grpc.status.UNAVAILABLE && code !== grpc.status.DEADLINE_EXCEEDED) throw error;
            return undefined; // still starting, recovering or a standby
          }
        },
        { timeoutMs },
      );
    } finally {
      client.close();
    }
  }

  /** SIGTERM and wait for a clean exit. */
  async stop(timeoutMs = 20_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (!this.running) return this.exited;
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), timeoutMs);
    const result = await this.exited;
    clearTimeout(timer);
    return result;
  }

  async kill(): Promise<void> {
    if (!this.running) return;
    this.child.kill("SIGKILL");
    await this.exited;
  }
}
