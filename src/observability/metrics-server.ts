/**
 * The HTTP endpoint of the metrics (runtime.metrics.*; off by default, on
 * loopback by default): `GET /metrics` answers the Prometheus text exposition,
 * `GET /healthz` answers 200 "SERVING" or 503 "NOT_SERVING <phase>" for probes
 * that speak only HTTP. Anything else is 404. Plain node:http, no framework.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { nodeHttp } from "../core/http-modules.ts";
import type { AddressInfo } from "node:net";
import type { Logger } from "./logger.ts";
import type { HealthState } from "./health.ts";
import type { Metrics } from "./metrics.ts";

export interface MetricsServer {
  /** The bound port (useful with port 0). */
  readonly port: number;
  close(): Promise<void>;
}

export interface MetricsServerOptions {
  readonly host: string;
  readonly port: number;
  readonly metrics: Metrics;
  readonly health: HealthState;
  readonly logger: Logger;
}

export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const { metrics, health, logger } = options;
  const server = nodeHttp().createServer((request: IncomingMessage, response: ServerResponse) => {
    const path = (request.url ?? "/").split("?")[0];
    if (request.method !== "GET" && request.method !== "HEAD") {
      response.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    if (path === "/metrics") {
      metrics.exposition().then(
        (text) => {
          response.writeHead(200, { "content-type": metrics.registry.contentType });
          response.end(request.method === "HEAD" ? undefined : text);
        },
        (error: unknown) => {
          logger.error({ err: error }, "metrics scrape failed");
          response.writeHead(500, { "content-type": "text/plain" }).end("metrics scrape failed\n");
        },
      );
      return;
    }
    if (path === "/healthz") {
      health.refresh();
      const serving = health.status === "SERVING";
      response.writeHead(serving ? 200 : 503, { "content-type": "text/plain" });
      response.end(serving ? "SERVING\n" : `NOT_SERVING ${health.phase}\n`);
      return;
    }
    response.writeHead(404, { "content-type": "text/plain" }).end("not found: try /metrics or /healthz\n");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  server.on("error", (error) => logger.error({ err: error }, "metrics endpoint error"));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
