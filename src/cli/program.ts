/**
 * Assembles the commander program from one module per command. A command line
 * that only serves gets the serve command alone (./serves-only.ts): the other
 * commands' modules load only when one of them, or the help, is asked for.
 */
import { Command } from "commander";
import { addServeCommand } from "./commands/serve.ts";
import { applySecretFiles } from "./secret-files.ts";
import { servesOnly } from "./serves-only.ts";
import { VERSION } from "../app/version.ts";

export async function buildProgram(args: readonly string[] = process.argv.slice(2)): Promise<Command> {
  const program = new Command("spider-storage")
    .description("Durable job-orchestration storage service speaking Spider's storage gRPC protocol")
    .version(VERSION, "-V, --version")
    .option("-c, --config <path>", "YAML configuration file (Spider's storage.yaml keys accepted)")
    .option("--json", "machine-readable output")
    .option("--database-url <url>", "mysql://user:password@host:port/database (visible to local users in the process list: prefer --database-url-file or SPIDER_STORAGE_DATABASE_URL)")
    .option("--database-url-file <path>", "file holding the database URL")
    .option("--data-dir <path>", "data directory of the embedded MariaDB")
    .option("--server <host:port>", "address of a running server, for online commands", "127.0.0.1:50051")
    .option("--token <token>", "admin token, for online commands (visible to local users in the process list: prefer --token-file or SPIDER_STORAGE_RUNTIME__ADMIN__TOKEN)")
    .option("--token-file <path>", "file holding the admin token")
    .option("--tls-ca <file>", "CA certificate to trust when the server has TLS on (env SPIDER_STORAGE_TLS_CA)")
    .option("--tls-cert <file>", "client certificate, for a server with mutual TLS")
    .option("--tls-key <file>", "client key, for a server with mutual TLS")
    .option("--log-format <format>", "log lines on stderr: auto (pretty on a terminal, else JSON), json or pretty")
    .configureHelp({ showGlobalOptions: true })
    .exitOverride()
    .showHelpAfterError()
    .hook("preAction", () => {
      applySecretFiles(program);
      // Every logger a command creates (serve's, the offline commands' audit lines) follows --log-format.
      const logFormat = program.opts<{ logFormat?: string }>().logFormat;
      if (logFormat !== undefined) process.env["SPIDER_STORAGE_LOG_FORMAT"] = logFormat;
    });
  addServeCommand(program);
  if (servesOnly(args)) return program;
  const [migrate, status, jobs, em, usage, doctor, recover, verify, queue, gc] = await Promise.all([
    import("./commands/migrate.ts"),
    import("./commands/status.ts"),
    import("./commands/jobs.ts"),
    import("./commands/em.ts"),
    import("./commands/usage.ts"),
    import("./commands/doctor.ts"),
    import("./commands/recover.ts"),
    import("./commands/verify.ts"),
    import("./commands/queue.ts"),
    import("./commands/gc.ts"),
  ]);
  migrate.addMigrateCommand(program);
  status.addStatusCommand(program);
  jobs.addJobsCommand(program);
  em.addEmCommand(program);
  usage.addUsageCommand(program);
  doctor.addDoctorCommand(program);
  recover.addRecoverCommand(program);
  verify.addVerifyCommand(program);
  queue.addQueueCommand(program);
  gc.addGcCommand(program);
  return program;
}
