/** Assembles the commander program from one module per command. */
import { Command } from "commander";
import { addMigrateCommand } from "./commands/migrate.ts";
import { addServeCommand } from "./commands/serve.ts";
import { VERSION } from "./version.ts";

export function buildProgram(): Command {
  const program = new Command("spider-storage")
    .description("Durable job-orchestration storage service speaking Spider's storage gRPC protocol")
    .version(VERSION, "-V, --version")
    .option("-c, --config <path>", "YAML configuration file (Spider's storage.yaml keys accepted)")
    .option("--json", "machine-readable output")
    .option("--database-url <url>", "mysql://user:password@host:port/database")
    .option("--data-dir <path>", "data directory of the embedded MariaDB")
    .option("--server <host:port>", "address of a running server, for online commands", "127.0.0.1:50051")
    .option("--token <token>", "admin token, for online commands")
    .configureHelp({ showGlobalOptions: true })
    .exitOverride()
    .showHelpAfterError();
  addServeCommand(program);
  addMigrateCommand(program);
  return program;
}
