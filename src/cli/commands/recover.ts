/**
 * `spider-storage recover --dry-run`: what a restart would do with the
 * configured database (--database-url, --data-dir, config), without doing it:
 * the jobs it would load, how long the scan takes, an estimate of the memory
 * the cache would take, and which rows it would quarantine and why. Read-only
 * (it takes no lease, so it can run beside a server too). A progress bar on
 * stderr when it is a terminal.
 */
import type { Command } from "commander";
import { adminSettingsFrom } from "../../admin/admin-settings.ts";
import type { RecoveryDryRunReport } from "../../admin/recovery-dry-run.ts";
import { parseInteger } from "../arguments.ts";
import { CliError } from "../cli-error.ts";
import { withOfflineDatabase } from "../offline-database.ts";
import { formatBytes, formatDuration, print, printJson, renderFields, renderTable, truncate } from "../output.ts";
import { progressBar } from "../progress.ts";

export function addRecoverCommand(program: Command): void {
  program
    .command("recover")
    .description("show what a restart would load from the database (--dry-run; the server recovers by itself at start)")
    .option("--dry-run", "scan and report; change nothing (required)")
    .option("--page-size <n>", "jobs read per page (default: runtime.recovery.page_size)", parseInteger(1, 100_000))
    .option("--cache-ready-jobs", "also count never-started (Ready) jobs as loaded (the server leaves them in the database)")
    .action(async (flags: { dryRun?: boolean; pageSize?: number; cacheReadyJobs?: boolean }, command: Command) => {
      if (!flags.dryRun) throw new CliError("only `recover --dry-run` exists: a server recovers by itself when it starts", 2);
      const json = command.optsWithGlobals<{ json?: boolean }>().json === true;
      const { recoveryDryRun } = await import("../../admin/recovery-dry-run.ts");
      const report: RecoveryDryRunReport = await withOfflineDatabase(command, { write: false, what: "recover --dry-run" }, async ({ db, config }) => {
        let bar: ReturnType<typeof progressBar> | undefined;
        try {
          return await recoveryDryRun(db, {
            pageSize: flags.pageSize ?? config.runtime.recovery.page_size,
            pageBytes: config.runtime.recovery.page_bytes,
            limits: adminSettingsFrom(config).limits,
            cacheReadyJobs: flags.cacheReadyJobs === true,
            onProgress: (done, total) => {
              bar ??= progressBar("recovery scan", total);
              bar.update(done, total);
            },
          });
        } finally {
          bar?.stop();
        }
      });
      if (json) return printJson(report);
      const states = ["Running", "CommitReady", "CleanupReady", "Ready"] as const;
      print(
        renderTable(
          ["STATE", "IN DATABASE", "WOULD LOAD"],
          states.map((s) => [s, report.byState[s], report.wouldCache[s]]),
        ),
      );
      print();
      print(
        renderFields([
          ["jobs scanned", `${report.total} in ${formatDuration(report.durationMs)} (${Math.round(report.rowsPerSecond)} jobs/s, ${report.pages} page(s), ${formatBytes(report.bytesRead)} read)`],
          ["left in the database", `${report.deferredReady} never-started job(s) (loaded when started)`],
          ["tasks", `${report.tasks.total} in the loaded jobs; ${report.tasks.restoredFromCheckpoints} kept from checkpoints, ${report.tasks.toRun} of Running jobs to run`],
          ["queue after the refill", `${report.tasks.readyAtStart} entr${report.tasks.readyAtStart === 1 ? "y" : "ies"}`],
          ["checkpoints", `${report.checkpoints.read} read, ${report.checkpoints.used} used, ${report.checkpoints.discarded} would be discarded (${report.checkpoints.corrupt} corrupt)`],
          ["memory (estimate)", `${formatBytes(report.estimatedMemoryBytes)} for the cache (${report.distinctGraphs} distinct graph(s))`],
          ["would quarantine", report.quarantined],
        ]),
      );
      if (report.quarantinedJobs.length > 0) {
        print();
        print(renderTable(["JOB", "STATE", "WHY"], report.quarantinedJobs.map((q) => [q.jobId, q.state, truncate(q.reason, 100)])));
        if (report.quarantined > report.quarantinedJobs.length) print(`… and ${report.quarantined - report.quarantinedJobs.length} more`);
      }
    });
}
