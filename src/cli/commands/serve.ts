/** `spider-storage serve` (the default command): runs the service until SIGTERM/SIGINT. */
import type { Command } from "commander";
import { StorageServer } from "../../app/storage-server.ts";
import { createLogger } from "../../observability/logger.ts";
import { CliError } from "../cli-error.ts";

interface ServeFlags {
  host?: string;
  port?: string;
  migrate: boolean;
}

export function addServeCommand(program: Command): void {
  program
    .command("serve", { isDefault: true })
    .description("run the storage service (the default when no command is given)")
    .option("--host <ip>", "address to listen on", "127.0.0.1")
    .option("--port <port>", "gRPC port", "50051")
    .option("--no-migrate", "do not apply migrations; refuse to start unless the schema is current")
    .action(async (flags: ServeFlags, command: Command) => {
      const globals = command.optsWithGlobals<{ databaseUrl?: string }>();
      const databaseUrl = globals.databaseUrl ?? process.env["SPIDER_STORAGE_DATABASE_URL"];
      if (!databaseUrl) throw new CliError("no database configured: pass --database-url mysql://user:pass@host:port/db", 2);
      const port = Number(flags.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliError(`--port must be 0..65535, got ${flags.port}`, 2);
      const logger = createLogger();
      const server = new StorageServer({
        host: flags.host ?? "127.0.0.1",
        port,
        databaseUrl,
        maxConnections: 16,
        migrate: flags.migrate,
        maxRequestBytes: 64 * 1024 * 1024,
        shutdownDeadlineMs: 10_000,
        logger,
      });
      let stopping: Promise<void> | undefined;
      const stop = (signal: string) => {
        logger.info({ signal }, "shutting down");
        stopping ??= server.stop().then(() => logger.flush());
      };
      process.once("SIGTERM", () => stop("SIGTERM"));
      process.once("SIGINT", () => stop("SIGINT"));
      try {
        await server.start();
      } catch (error) {
        if (stopping) return await stopping;
        logger.fatal({ err: error }, "start-up failed");
        await server.stop();
        logger.flush();
        throw new CliError(error instanceof Error ? error.message : String(error));
      }
    });
}
