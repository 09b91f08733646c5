/**
 * `spider-storage serve` (the default command): runs the service until SIGTERM/SIGINT.
 *
 * Configuration: flags > environment > `--config` YAML > defaults (src/config/).
 * The database: --database-url / SPIDER_STORAGE_DATABASE_URL / `database_url` /
 * `runtime.db.*`; with none of them, an embedded MariaDB in --data-dir, started
 * once the gRPC port is bound and stopped after the pool closes.
 *
 * Exit codes: 0 after a clean stop; 1 on a start-up failure; 2 on invalid
 * configuration. Losing the leader lease never exits: a lease not renewed in
 * time is ridden through, and a server another one deposed goes back to
 * standby in the same process (D3, src/app/storage-server.ts). An unhandled promise
 * rejection is logged and counted and the server keeps serving; an uncaught
 * exception is logged and exits 1 (src/cli/process-failure-policy.ts).
 *
 * `SPIDER_STORAGE_FAULTS` (JSON, src/db/fault-injection/fault-plan.ts) turns on
 * database fault injection — for tests only: it is honoured only beside
 * `SPIDER_STORAGE_ENABLE_TEST_FAULTS=1`, and otherwise ignored with an error
 * line in the log (the server still starts: a stray variable must not stop
 * production).
 */
import type { Command } from "commander";
import type { StorageServer as StorageServerType } from "../../app/storage-server.ts";
import { ConfigError, redactConfig, resolveConfig, type LoadedConfig } from "../../config/load-config.ts";
import type { EmbeddedDatabase } from "../../embedded/embedded-mariadb.ts";
import { createLogger } from "../../observability/logger.ts";
import { logLevelFromRustLog } from "../../observability/log-level.ts";
import { FaultInjector } from "../../db/fault-injection/fault-injector.ts";
import { ENABLE_FAULTS_ENV, FAULTS_ENV, faultPlanFromEnv, testFaultsEnabled } from "../../db/fault-injection/fault-plan.ts";
import { CliError } from "../cli-error.ts";
import { EarlyListener } from "../../grpc/early-listener.ts";
import { installProcessFailurePolicy } from "../process-failure-policy.ts";
import { parseDatabaseUrl } from "../../core/database-url.ts";
import { turnOffPretenuring } from "../v8-heap-flags.js";

const LOG_LEVEL_ENV = "SPIDER_STORAGE_LOG_LEVEL";

interface ServeFlags {
  host?: string;
  port?: string;
  migrate: boolean;
}

interface GlobalFlags {
  config?: string;
  databaseUrl?: string;
  dataDir?: string;
  logFormat?: string;
}

/** Resolves the configuration from a command's flags, reporting invalid configuration as a usage error. */
export function loadCliConfig(command: Command, flags: Record<string, unknown> = {}): LoadedConfig {
  const globals = command.optsWithGlobals<GlobalFlags>();
  try {
    return resolveConfig({
      flags: { ...flags, database_url: globals.databaseUrl, data_dir: globals.dataDir, log_format: globals.logFormat },
      env: withRustLogLevel(process.env),
      configPath: globals.config,
    });
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(error.message, 2);
    throw error;
  }
}

export function addServeCommand(program: Command): void {
  program
    .command("serve", { isDefault: true })
    .description("run the storage service (the default when no command is given)")
    .option("--host <ip>", "address to listen on (default 127.0.0.1)")
    .option("--port <port>", "gRPC port (default 50051)")
    .option("--no-migrate", "do not apply migrations; refuse to start unless the schema is current")
    .action(async (flags: ServeFlags, command: Command) => {
      const { config, warnings } = loadCliConfig(command, { host: flags.host, port: flags.port });
      const logger = createLogger({ level: config.log_level, format: config.log_format });
      for (const warning of warnings) logger.warn(warning);
      if (passwordOnCommandLine(command, config.database)) {
        logger.warn(
          "the database URL on the command line carries a password every local user can read in the process list: " +
            "pass it with --database-url-file or SPIDER_STORAGE_DATABASE_URL",
        );
      }
      logger.debug({ config: redactConfig(config) }, "configuration");

      let embedded: Promise<EmbeddedDatabase> | undefined;
      let stopRequested = false;
      const target = config.database;
      const databaseUrl =
        target.kind === "url"
          ? target.url
          : async () => {
              // A stop that came first must not find a mariadbd started behind its back.
              if (stopRequested) throw new Error("server is stopping");
              // Loaded only for an embedded database (it brings the MariaDB driver before the port is bound otherwise).
              const [{ createDatabaseIfMissing }, { openDataDirDatabase }] = await Promise.all([
                import("../../db/server/createDatabaseIfMissing.ts"),
                import("../../embedded/embedded-mariadb.ts"),
              ]);
              if (stopRequested) throw new Error("server is stopping");
              embedded = openDataDirDatabase(target.data_dir, {
                logger,
                socketDir: target.socket_dir,
                binDir: target.bin_dir,
                createDatabase: createDatabaseIfMissing,
              });
              return (await embedded).url;
            };
      const faults = faultInjection(logger);
      // D2: the port first — bound before the server's modules load, its connections held until the server takes them.
      let listener: EarlyListener;
      try {
        listener = await EarlyListener.listen(config.host, config.port);
      } catch (error) {
        logger.fatal({ err: error, host: config.host, port: config.port }, "start-up failed");
        logger.flush();
        throw new CliError(`cannot listen on ${config.host} port ${config.port}: ${error instanceof Error ? error.message : String(error)}`);
      }
      logger.info({ host: config.host, port: listener.port }, "port bound (loading the server)");
      // Loaded here, not at the top: every other command (status, jobs, …) starts without the server's modules.
      const { StorageServer } = await import("../../app/storage-server.ts");
      const server: StorageServerType = new StorageServer({
        config,
        databaseUrl,
        migrate: flags.migrate,
        logger,
        listener,
        ...faults,
      });

      // The server's modules (and Node's built-ins they need) are loaded, and no call has run yet.
      turnOffPretenuring();
      installProcessFailurePolicy(logger, server.operability.metrics);

      // Stop order (D2): the server (drain, close the pool, release the lease), then mariadbd.
      const stopAll = async () => {
        stopRequested = true;
        await server.stop();
        listener.close(); // the server closes it once it has taken it; not if its start failed before that
        const database = await embedded?.catch(() => undefined);
        await database?.stop();
      };
      let stopping: Promise<void> | undefined;
      const stop = (signal: string) => {
        logger.info({ signal }, "shutting down");
        stopping ??= stopAll().then(() => logger.flush());
      };
      process.once("SIGTERM", () => stop("SIGTERM"));
      process.once("SIGINT", () => stop("SIGINT"));
      try {
        await server.start();
      } catch (error) {
        if (stopping) return await stopping;
        logger.fatal({ err: error }, "start-up failed");
        await stopAll().catch((stopError: unknown) => logger.error({ err: stopError }, "stopping after a failed start-up"));
        logger.flush();
        throw new CliError(error instanceof Error ? error.message : String(error));
      }
    });
}

/**
 * Spider's image sets its level with RUST_LOG (`INFO`, `warn,spider_storage=debug`):
 * it stands in for SPIDER_STORAGE_LOG_LEVEL when that is not set, at the same
 * precedence (above the file). A value naming no level is left out.
 */
function withRustLogLevel(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const rustLog = env["RUST_LOG"];
  if ((env[LOG_LEVEL_ENV] ?? "") !== "" || rustLog === undefined) return env;
  const level = logLevelFromRustLog(rustLog);
  return level === undefined ? env : { ...env, [LOG_LEVEL_ENV]: level };
}

/** Whether the database URL, with a password in it, came from `--database-url` itself (not its file). */
function passwordOnCommandLine(command: Command, target: LoadedConfig["config"]["database"]): boolean {
  if (target.kind !== "url" || target.source !== "--database-url") return false;
  if (command.optsWithGlobals<{ databaseUrlFile?: string }>().databaseUrlFile !== undefined) return false;
  try {
    return parseDatabaseUrl(target.url).password !== "";
  } catch {
    return false;
  }
}

/** Test-only fault injection from SPIDER_STORAGE_FAULTS; a malformed value is a usage error. */
function faultInjection(logger: ReturnType<typeof createLogger>): { faults?: FaultInjector } {
  if (!testFaultsEnabled(process.env)) {
    if ((process.env[FAULTS_ENV] ?? "").trim() !== "") {
      logger.error(`${FAULTS_ENV} is set but ignored: database fault injection is for tests only (they set ${ENABLE_FAULTS_ENV}=1)`);
    }
    return {};
  }
  let plan;
  try {
    plan = faultPlanFromEnv(process.env);
  } catch (error) {
    throw new CliError((error as Error).message, 2);
  }
  if (plan === undefined) return {};
  return {
    faults: new FaultInjector(plan, {
      onInjected: (fault) => logger.warn({ fault: fault.kind, operation: fault.operation, sql: fault.sql.slice(0, 120) }, "fault injected"),
    }),
  };
}
