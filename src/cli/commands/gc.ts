/**
 * `spider-storage gc`: deletes terminal jobs (Succeeded, Failed, Cancelled)
 * that ended more than `--older-than` ago (default runtime.gc.retention_sec),
 * with their checkpoints, a batch per statement, with a progress bar on a
 * terminal. Through a running server by default (one batch per call, so the
 * bar moves); offline (--database-url, --data-dir, --offline) it takes the
 * database lease and refuses while a server holds it. `--dry-run` only counts.
 */
import type { Command } from "commander";
import { adminSettingsFrom } from "../../admin/admin-settings.ts";
import { auditWrite } from "../../admin/audit.ts";
import { connectAdmin, LONG_DEADLINE_MS } from "../admin-client.ts";
import { parseDuration, parseInteger } from "../arguments.ts";
import { isOffline, withOfflineDatabase } from "../offline-database.ts";
import { formatDuration, print, printJson } from "../output.ts";
import { progressBar } from "../progress.ts";

interface GcFlags {
  olderThan?: number;
  batchSize?: number;
  dryRun?: boolean;
  reason?: string;
}

export function addGcCommand(program: Command): void {
  program
    .command("gc")
    .description("delete terminal jobs older than a retention, with their checkpoints, in batches")
    .option("--older-than <duration>", "retention: delete jobs that ended at least this long ago (default runtime.gc.retention_sec)", parseDuration)
    .option("--batch-size <n>", "jobs per DELETE (default runtime.gc.batch_size)", parseInteger(1, 1_000_000))
    .option("--dry-run", "only count what would be deleted")
    .option("--reason <text>", "why (logged)")
    .option("--offline", "work on the database directly (the server must be stopped)")
    .action(async (flags: GcFlags, command: Command) => {
      const json = command.optsWithGlobals<{ json?: boolean }>().json === true;
      const olderThanSecFlag = flags.olderThan === undefined ? undefined : flags.olderThan / 1000;
      let deleted = 0;
      let remaining = 0;
      let olderThanSec = 0;
      if (isOffline(command)) {
        const { runGc } = await import("../../admin/gc.ts");
        const { createLogger } = await import("../../observability/logger.ts");
        await withOfflineDatabase(command, { write: flags.dryRun !== true, what: "gc" }, async ({ db, config }) => {
          const settings = adminSettingsFrom(config).gc;
          olderThanSec = olderThanSecFlag ?? settings.retentionSec;
          const batchSize = flags.batchSize ?? settings.batchSize;
          const total = (await runGc(db, { olderThanSec, batchSize, dryRun: true })).remaining;
          if (flags.dryRun) {
            remaining = total;
            return;
          }
          const bar = progressBar("gc", total);
          try {
            ({ deleted, remaining } = await runGc(db, { olderThanSec, batchSize, onBatch: (n) => bar.update(n) }));
          } finally {
            bar.stop();
          }
          if (deleted > 0) {
            const audit = createLogger({ level: "info" });
            auditWrite(audit, { kind: "offline", peer: "offline" }, "gc (offline)", flags.reason ?? "", { olderThanSec, deleted });
            audit.flush();
          }
        });
      } else {
        const admin = await connectAdmin(command);
        try {
          const request = {
            ...(olderThanSecFlag === undefined ? {} : { olderThanSec: BigInt(Math.floor(olderThanSecFlag)) }),
            batchSize: flags.batchSize ?? 0,
            reason: flags.reason ?? "",
          };
          const count = await admin.call((o) => admin.repair.runGc({ ...request, dryRun: true }, o), LONG_DEADLINE_MS);
          olderThanSec = Number(count.olderThanSec);
          remaining = Number(count.remaining);
          if (!flags.dryRun && remaining > 0) {
            const bar = progressBar("gc", remaining);
            try {
              // One batch per call, so the bar moves and no call runs long.
              for (;;) {
                const step = await admin.call((o) => admin.repair.runGc({ ...request, maxBatches: 1 }, o), LONG_DEADLINE_MS);
                deleted += Number(step.deleted);
                remaining = Number(step.remaining);
                bar.update(deleted, deleted + remaining);
                if (step.deleted === 0n || remaining === 0) break;
              }
            } finally {
              bar.stop();
            }
          }
        } finally {
          admin.close();
        }
      }
      if (json) return printJson({ deleted, remaining, olderThanSec, dryRun: flags.dryRun === true });
      const age = formatDuration(olderThanSec * 1000);
      if (flags.dryRun) print(`${remaining} terminal job(s) ended more than ${age} ago and would be deleted`);
      else print(`deleted ${deleted} terminal job(s) that ended more than ${age} ago (with their checkpoints); ${remaining} left`);
    });
}
