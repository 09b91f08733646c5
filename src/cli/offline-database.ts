/**
 * The database of an offline command (the server down, or not needed): the
 * configuration resolved as for `serve` (--database-url, environment, config
 * file, else the embedded MariaDB of --data-dir), a small pool, and — for
 * commands that write — the single-writer lease, taken without waiting
 * (DECISIONS D3): while a server holds it, the command refuses and says to go
 * through the server instead. A command that writes also starts a session: a
 * server that lost its lease while the command ran (it was reconnecting)
 * finds a newer session when it retakes the lease and steps down instead of
 * serving a cache the command made stale (src/app/storage-server.ts).
 *
 * Commands that work both ways go offline when the database is named on the
 * command line (--database-url, --data-dir) or with --offline, and online
 * (--server) otherwise.
 */
import type { Command } from "commander";
import type { Config } from "../config/schema.ts";
import type { Db } from "../db/connection.ts";
import type { EmbeddedDatabase } from "../embedded/embedded-mariadb.ts";
import type { Logger } from "../observability/logger.ts";
import { CliError } from "./cli-error.ts";

export interface OfflineContext {
  readonly db: Db;
  readonly config: Config;
  readonly logger: Logger;
}

/** Whether a dual-mode command should work on the database directly. */
export function isOffline(command: Command): boolean {
  const flags = command.optsWithGlobals<{ databaseUrl?: string; dataDir?: string; offline?: boolean }>();
  return flags.databaseUrl !== undefined || flags.dataDir !== undefined || flags.offline === true;
}

export async function withOfflineDatabase<T>(
  command: Command,
  options: { readonly write: boolean; readonly what: string },
  fn: (context: OfflineContext) => Promise<T>,
): Promise<T> {
  // Imported here: the database modules are not needed to parse arguments or to go online.
  const { loadCliConfig } = await import("./commands/serve.ts");
  const { createDb } = await import("../db/connection.ts");
  const { takeOfflineLease } = await import("./offline-lease.ts");
  const { DatabaseNodes } = await import("../db/database-nodes.ts");
  const { DataDirLockedError } = await import("../embedded/data-dir-lock.ts");
  const { openDataDirDatabase } = await import("../embedded/embedded-mariadb.ts");
  const { createDatabaseIfMissing } = await import("../db/server/createDatabaseIfMissing.ts");
  const { createLogger } = await import("../observability/logger.ts");
  const { config, warnings } = loadCliConfig(command);
  const logger = createLogger({ level: config.log_level === "info" ? "warn" : config.log_level });
  for (const warning of warnings) logger.warn(warning);
  let embedded: EmbeddedDatabase | undefined;
  try {
    const target = config.database;
    if (target.kind === "embedded") {
      try {
        embedded = await openDataDirDatabase(target.data_dir, {
          logger,
          socketDir: target.socket_dir,
          binDir: target.bin_dir,
          createDatabase: createDatabaseIfMissing,
        });
      } catch (error) {
        if (error instanceof DataDirLockedError) {
          throw new CliError(`${error.message}: a server is running on it; run \`spider-storage ${options.what}\` against it with --server instead`);
        }
        throw error;
      }
    }
    const url = target.kind === "url" ? target.url : embedded!.url;
    // One node choice for the lease and the pool, so both use the same server of a multi-host URL.
    const nodes = new DatabaseNodes(url);
    const lease = options.write
      ? await takeOfflineLease(url, {
          config,
          logger,
          what: options.what,
          nodes,
          refusal:
            `a spider-storage server holds this database's lease, so \`${options.what}\` must go through it: ` +
            "run it without --database-url/--data-dir/--offline (it then talks to --server)",
        })
      : undefined;
    const db = createDb({ url, maxConnections: 2, nodes });
    try {
      if (lease) {
        // A new session and fence epoch: a server that lost the lease meanwhile can no longer write (D3).
        const { allocateFencedSession } = await import("../db/sessions/allocateFencedSession.ts");
        const { setWriteFence } = await import("../db/fence/write-fence.ts");
        setWriteFence(db, await allocateFencedSession(db));
      }
      return await fn({ db, config, logger });
    } finally {
      await db.destroy();
      await lease?.release();
    }
  } finally {
    await embedded?.stop();
    logger.flush();
  }
}
