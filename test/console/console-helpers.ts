/**
 * What the console tests share: a real server process with its web console
 * on a free port (read from its "web console listening" log line), plain
 * HTTP calls to the console, and Debian's chromium driven by playwright-core.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { chromium, type Browser } from "playwright-core";
import { ServerProcess } from "../../testkit/server-process.ts";
import { waitFor } from "../../testkit/wait-for.ts";

export interface ConsoleServer {
  readonly server: ServerProcess;
  /** http://127.0.0.1:PORT/ */
  readonly url: string;
}

/** Starts a server with its console on port 0 and waits for both to be up (by its log when it speaks TLS). */
export async function startServerWithConsole(options: { databaseUrl: string; env?: Record<string, string> }): Promise<ConsoleServer> {
  const server = await ServerProcess.start({
    databaseUrl: options.databaseUrl,
    env: { SPIDER_STORAGE_RUNTIME__CONSOLE__PORT: "0", ...options.env },
  });
  if (options.env?.["SPIDER_STORAGE_RUNTIME__TLS__KEY_FILE"] === undefined) await server.waitServing();
  else await waitFor(() => `the server to serve:\n${server.logs.slice(-4000)}`, () => server.logs.includes('"msg":"serving"'));
  const url = await waitFor("the web console to listen", () => {
    for (const line of server.logs.split("\n")) {
      if (!line.includes('"web console listening"')) continue;
      return (JSON.parse(line) as { url: string }).url;
    }
    return undefined;
  });
  return { server, url };
}

export interface HttpAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** One HTTP request to the console (node:http, so any header or body can be sent). */
export function consoleRequest(
  baseUrl: string,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<HttpAnswer> {
  const url = new URL(path, baseUrl);
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, { method: options.method ?? "GET", headers: options.headers ?? {} }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString("utf8") }));
      response.on("error", reject);
    });
    request.on("error", reject);
    request.end(options.body);
  });
}

/** The headers the console's own page sends. */
export function consoleHeaders(token?: string): Record<string, string> {
  return { "x-spider-console": "1", ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) };
}

/** Debian's chromium (apt-get install chromium), headless. */
export async function launchChromium(): Promise<Browser> {
  const candidates = ["/usr/bin/chromium", "/usr/lib/chromium/chromium"];
  let executablePath = candidates.find((path) => existsSync(path));
  if (executablePath === undefined) {
    try {
      executablePath = execFileSync("sh", ["-c", "command -v chromium"], { encoding: "utf8" }).trim();
    } catch {
      throw new Error("chromium is not installed: apt-get install chromium (.ci/run does it)");
    }
  }
  // As root (CI here) chromium needs --no-sandbox.
  return chromium.launch({ executablePath, headless: true, args: ["--no-sandbox", "--disable-dev-shm-usage"] });
}

/** The JSON audit lines the server logged, parsed. */
export function auditLines(server: ServerProcess): Record<string, unknown>[] {
  return server.logs
    .split("\n")
    .filter((line) => line.includes('"audit":true'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** The audit line with this reason, once the server's log (written asynchronously) has it. */
export function waitForAudit(server: ServerProcess, reason: string): Promise<Record<string, unknown>> {
  return waitFor(`the audit line "${reason}"`, () => auditLines(server).find((line) => line["reason"] === reason));
}
