/**
 * `spider-storage verify [--repair]`: compares a running server's cache with
 * its database (states, outputs present, ready tasks against queue entries,
 * live instances) and reports each disagreement; `--repair` fixes them (the
 * database is the truth). Exit 1 while a disagreement remains unrepaired.
 */
import type { Command } from "commander";
import { connectAdmin, LONG_DEADLINE_MS } from "../admin-client.ts";
import { print, printJson, renderTable, truncate } from "../output.ts";

export function addVerifyCommand(program: Command): void {
  program
    .command("verify")
    .description("compare the server's cache with its database; --repair fixes the disagreements")
    .option("--repair", "fix what is found")
    .option("--reason <text>", "why (logged with --repair)")
    .action(async (flags: { repair?: boolean; reason?: string }, command: Command) => {
      const json = command.optsWithGlobals<{ json?: boolean }>().json === true;
      const admin = await connectAdmin(command);
      try {
        const answer = await admin.call((o) => admin.repair.verify({ repair: flags.repair === true, reason: flags.reason ?? "" }, o), LONG_DEADLINE_MS);
        if (answer.disagreements.some((d) => !d.repaired)) process.exitCode = 1;
        if (json) return printJson(answer);
        print(`checked ${answer.cachedJobsChecked} cached job(s) and ${answer.databaseJobsChecked} live row(s)`);
        if (answer.disagreements.length === 0) {
          print("cache and database agree");
          return;
        }
        print(
          renderTable(
            ["KIND", "JOB", "TASK", "CACHE", "DATABASE", flags.repair ? "REPAIR DONE" : "REPAIR (with --repair)"],
            answer.disagreements.map((d) => [d.kind, d.jobId, d.task, d.cache, d.database, truncate(d.repair, 70)]),
          ),
        );
        print();
        print(
          flags.repair
            ? `${answer.repaired} of ${answer.disagreements.length} disagreement(s) repaired`
            : `${answer.disagreements.length} disagreement(s); run \`spider-storage verify --repair\` to fix them`,
        );
      } finally {
        admin.close();
      }
    });
}
