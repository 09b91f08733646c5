/**
 * The web console's HTTP server (runtime.console.*; on by default, on
 * loopback by default). It serves the page and its scripts (static-assets.ts)
 * and the JSON API (console-api.ts), behind the admin API's rules: the admin
 * token or loopback (console-auth.ts), and the gRPC port's TLS — with
 * runtime.tls key and certificate it speaks HTTPS with them, and with a
 * client CA it asks browsers for a certificate that CA signed.
 *
 * Nothing a request sends can stop the server or hold it: headers and bodies
 * are size-limited, slow requests time out, at most MAX_CONNECTIONS sockets
 * are open and MAX_API_CALLS_IN_FLIGHT API calls run at once (more answer 503
 * at once), and every answer is bounded by the use case behind it.
 */
import { readFileSync } from "node:fs";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { nodeHttp, nodeHttps } from "../core/http-modules.ts";
import type { AddressInfo } from "node:net";
import type { AdminHost } from "../admin/admin-host.ts";
import type { Logger } from "../observability/logger.ts";
import { answerApi } from "./console-api.ts";
import { authorizeConsoleRequest, mayLoadPage } from "./console-auth.ts";
import { httpRefusal, HttpError } from "./http-error.ts";
import { jsonText } from "./json-text.ts";
import { loadStaticAssets, type StaticAsset } from "./static-assets.ts";

const MAX_CONNECTIONS = 64;
const MAX_API_CALLS_IN_FLIGHT = 16;
const MAX_HEADER_BYTES = 16 * 1024;
const HEADERS_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 30_000;

/** The page runs only its own scripts and talks only to this server. */
const SECURITY_HEADERS = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; worker-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
} as const;

export interface ConsoleTls {
  readonly key_file?: string | undefined;
  readonly cert_file?: string | undefined;
  readonly client_ca_file?: string | undefined;
}

export interface ConsoleServerOptions {
  readonly host: string;
  readonly port: number;
  readonly tls: ConsoleTls;
  /** The admin use cases' view of the server; its settings hold the admin token. */
  readonly admin: AdminHost;
  readonly logger: Logger;
}

export interface ConsoleServer {
  readonly port: number;
  /** Where a browser opens it. */
  readonly url: string;
  close(): Promise<void>;
}

function createServer(tls: ConsoleTls, handler: (request: IncomingMessage, response: ServerResponse) => void): Server {
  const common = { maxHeaderSize: MAX_HEADER_BYTES, headersTimeout: HEADERS_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS };
  if (tls.key_file === undefined || tls.cert_file === undefined) return nodeHttp().createServer(common, handler);
  const ca = tls.client_ca_file === undefined ? undefined : readFileSync(tls.client_ca_file);
  return nodeHttps().createServer(
    {
      ...common,
      key: readFileSync(tls.key_file),
      cert: readFileSync(tls.cert_file),
      ...(ca === undefined ? {} : { ca, requestCert: true, rejectUnauthorized: true }),
    },
    handler,
  );
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpError(400, "malformed request path");
  }
}

export async function startConsoleServer(options: ConsoleServerOptions): Promise<ConsoleServer> {
  const { admin, logger } = options;
  const assets = loadStaticAssets();
  let inFlight = 0;

  const send = (response: ServerResponse, status: number, headers: Record<string, string>, body?: string | Uint8Array) => {
    if (response.headersSent) return void response.end();
    response.writeHead(status, { ...SECURITY_HEADERS, "cache-control": "no-store", ...headers });
    response.end(body);
  };
  const refuse = (response: ServerResponse, status: number, message: string, extra: Record<string, string> = {}) =>
    send(response, status, { "content-type": "application/json; charset=utf-8", ...extra }, jsonText({ error: message }));

  const serveAsset = (request: IncomingMessage, response: ServerResponse, asset: StaticAsset) => {
    const headers = { "content-type": asset.contentType, etag: asset.etag, "cache-control": "no-cache" };
    if (request.headers["if-none-match"] === asset.etag) return send(response, 304, headers);
    send(response, 200, headers, request.method === "HEAD" ? undefined : asset.body);
  };

  const serveApi = async (request: IncomingMessage, response: ServerResponse, url: URL) => {
    const actor = authorizeConsoleRequest(request, admin.settings.token);
    if (inFlight >= MAX_API_CALLS_IN_FLIGHT) throw new HttpError(503, "console busy: too many requests at once, try again");
    inFlight++;
    try {
      const segments = url.pathname.slice("/api/".length).split("/").map(decodeSegment);
      const answer = await answerApi(admin, { method: request.method ?? "GET", segments, params: url.searchParams, request, actor });
      if (answer.kind === "json") return send(response, 200, { "content-type": "application/json; charset=utf-8" }, jsonText(answer.body));
      send(response, 200, { "content-type": "application/octet-stream", "content-disposition": `attachment; filename="${answer.fileName.replace(/[^A-Za-z0-9._-]/g, "_")}"` }, answer.body);
    } finally {
      inFlight--;
    }
  };

  const server = createServer(options.tls, (request, response) => {
    let url: URL;
    try {
      url = new URL(request.url ?? "/", "http://console.invalid");
    } catch {
      return refuse(response, 400, "malformed request URL");
    }
    const isApi = url.pathname.startsWith("/api/");
    if (!isApi) {
      if (!mayLoadPage(request, admin.settings.token)) {
        return refuse(response, 401, "console: callers from other hosts need a token: set runtime.admin.token on the server");
      }
      if (request.method !== "GET" && request.method !== "HEAD") return refuse(response, 405, "only GET and HEAD here", { allow: "GET, HEAD" });
      const asset = assets.get(url.pathname);
      return asset === undefined ? refuse(response, 404, "not found") : serveAsset(request, response, asset);
    }
    serveApi(request, response, url).catch((error: unknown) => {
      const refusal = httpRefusal(error);
      if (refusal === undefined) {
        logger.error({ err: error, path: url.pathname.slice(0, 200) }, "web console: request failed");
        return refuse(response, 500, "console: internal error (logged)");
      }
      // A refused body may still be arriving: close rather than read it.
      const headers: Record<string, string> = {};
      if (refusal.status === 413 || refusal.status === 415) headers["connection"] = "close";
      if (refusal.status === 401) headers["www-authenticate"] = 'Bearer realm="spider-storage"';
      refuse(response, refusal.status, refusal.message, headers);
    });
  });
  server.maxConnections = MAX_CONNECTIONS;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  server.on("error", (error) => logger.error({ err: error }, "web console error"));
  // The gRPC server keeps the process alive; the console alone never does.
  server.unref();
  const port = (server.address() as AddressInfo).port;
  const scheme = options.tls.key_file === undefined ? "http" : "https";
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  return {
    port,
    url: `${scheme}://${host}:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
