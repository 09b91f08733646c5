/** `spider-storage migrate`: applies pending migrations and reports them. */
import type { Command } from "commander";
import { createDb } from "../../db/connection.ts";
import { migrateToLatest } from "../../db/migrate.ts";
import { CliError } from "../cli-error.ts";

export function addMigrateCommand(program: Command): void {
  program
    .command("migrate")
    .description("apply pending schema migrations to the database")
    .action(async (_flags: unknown, command: Command) => {
      const globals = command.optsWithGlobals<{ databaseUrl?: string; json?: boolean }>();
      const databaseUrl = globals.databaseUrl ?? process.env["SPIDER_STORAGE_DATABASE_URL"];
      if (!databaseUrl) throw new CliError("no database configured: pass --database-url", 2);
      const db = createDb({ url: databaseUrl, maxConnections: 2 });
      try {
        const results = await migrateToLatest(db);
        if (globals.json) process.stdout.write(`${JSON.stringify({ applied: results.map((r) => r.migrationName) })}\n`);
        else if (results.length === 0) process.stdout.write("schema is up to date\n");
        else for (const r of results) process.stdout.write(`${r.status === "Success" ? "applied" : r.status}: ${r.migrationName}\n`);
      } finally {
        await db.destroy();
      }
    });
}
