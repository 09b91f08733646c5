/**
 * The real server composition (StorageServer) run inside the test process on
 * its own database, with a {@link FaultInjector} the test can reconfigure
 * between scenarios, and its log kept in memory for failure reports.
 */
import { Writable } from "node:stream";
import { pino } from "pino";
import { StorageServer } from "../../src/app/storage-server.ts";
import { resolveConfig } from "../../src/config/load-config.ts";
import { FaultInjector } from "../../src/db/fault-injection/fault-injector.ts";

export interface InProcessServer {
  readonly server: StorageServer;
  readonly address: string;
  readonly faults: FaultInjector;
  /** The last log lines (JSON). */
  logTail(lines?: number): string;
  /** How many log lines (warn and above) had this message so far. */
  logCount(msg: string): number;
  stop(): Promise<void>;
}

export async function startInProcessServer(
  databaseUrl: string,
  env: Record<string, string> = {},
  options: { leaseClock?: () => number } = {},
): Promise<InProcessServer> {
  const lines: string[] = [];
  const counts = new Map<string, number>();
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString().split("\n")) {
        if (!line) continue;
        lines.push(line);
        const msg = /"msg":"((?:[^"\\]|\\.)*)"/.exec(line)?.[1];
        if (msg !== undefined) counts.set(msg, (counts.get(msg) ?? 0) + 1);
      }
      if (lines.length > 5_000) lines.splice(0, lines.length - 5_000);
      callback();
    },
  });
  const logger = pino({ level: "warn" }, stream);
  const { config } = resolveConfig({ env: { SPIDER_STORAGE_HOST: "127.0.0.1", SPIDER_STORAGE_PORT: "0", ...env } });
  const faults = new FaultInjector({ rules: [] });
  const server = new StorageServer({ config, databaseUrl, migrate: true, logger, faults, ...options });
  await server.start();
  return {
    server,
    address: `127.0.0.1:${server.port}`,
    faults,
    logCount: (msg) => counts.get(msg) ?? 0,
    logTail: (count = 30) => lines.slice(-count).map((line) => line.slice(0, 400)).join("\n"),
    stop: () => server.stop(),
  };
}
