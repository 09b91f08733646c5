/**
 * `spider-storage migrate`: applies pending migrations and reports them.
 *
 * The database is resolved as for `serve` (--database-url, environment, config
 * file, else the embedded MariaDB in --data-dir). Migrating writes, so it takes
 * the single-writer lease without waiting (D3) and refuses while a server holds
 * it; on an embedded data directory in use, the data-dir lock refuses first.
 *
 * A migrate that changed the schema starts a session before it lets the lease
 * go, as offline write commands do (src/cli/offline-database.ts): a server
 * that lost its lease while migrate ran (it was reconnecting) then finds a
 * newer session when it retakes the lease and steps down rather than serve
 * on a schema it did not start with. So does a migration that failed part way
 * (MariaDB's DDL is not transactional). A migrate that applied nothing wrote
 * nothing, and starts no session: it must not make a reconnecting server
 * restart for nothing.
 */
import type { Command } from "commander";
import type { EmbeddedDatabase } from "../../embedded/embedded-mariadb.ts";
import { loadCliConfig } from "./serve.ts";

export function addMigrateCommand(program: Command): void {
  program
    .command("migrate")
    .description("apply pending schema migrations to the database")
    .action(async (_flags: unknown, command: Command) => {
      // Imported here, so that other commands start without the database modules.
      const { createDb } = await import("../../db/connection.ts");
      const { takeOfflineLease } = await import("../offline-lease.ts");
      const { migrateToLatest, SchemaTooNewError } = await import("../../db/migrate.ts");
      const { allocateSession } = await import("../../db/sessions/allocateSession.ts");
      const { openDataDirDatabase } = await import("../../embedded/embedded-mariadb.ts");
      const { createDatabaseIfMissing } = await import("../../db/server/createDatabaseIfMissing.ts");
      const { createLogger } = await import("../../observability/logger.ts");
      const globals = command.optsWithGlobals<{ json?: boolean }>();
      const { config, warnings } = loadCliConfig(command);
      const logger = createLogger({ level: config.log_level === "info" ? "warn" : config.log_level });
      for (const warning of warnings) logger.warn(warning);

      let embedded: EmbeddedDatabase | undefined;
      try {
        const target = config.database;
        if (target.kind === "embedded") {
          embedded = await openDataDirDatabase(target.data_dir, {
            logger,
            socketDir: target.socket_dir,
            binDir: target.bin_dir,
            createDatabase: createDatabaseIfMissing,
          });
        }
        const url = target.kind === "url" ? target.url : embedded!.url;
        const lease = await takeOfflineLease(url, { config, logger, what: "migrate" });
        const db = createDb({ url, maxConnections: 2 });
        try {
          const results = await migrateToLatest(db).catch(async (error: unknown) => {
            if (!(error instanceof SchemaTooNewError)) {
              // Without a sessions table (the first migration failed) no server can have run here.
              await allocateSession(db).catch((sessionError: unknown) => logger.warn({ err: sessionError }, "could not start a session after the failed migration"));
            }
            throw error;
          });
          if (results.length > 0) await allocateSession(db);
          if (globals.json) process.stdout.write(`${JSON.stringify({ applied: results.map((r) => r.migrationName) })}\n`);
          else if (results.length === 0) process.stdout.write("schema is up to date\n");
          else for (const r of results) process.stdout.write(`${r.status === "Success" ? "applied" : r.status}: ${r.migrationName}\n`);
        } finally {
          await db.destroy();
          await lease.release();
        }
      } finally {
        await embedded?.stop();
        logger.flush();
      }
    });
}
