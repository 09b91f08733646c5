/**
 * `spider-storage doctor`: checks a database (pg-boss's doctor is the model):
 * the schema against this code, rows that break invariants, quarantined
 * jobs, checkpoint rows that should not exist, silent execution managers,
 * the lease. Offline (--database-url, --data-dir, --offline: read-only, works
 * while a server runs too) or through a running server (--server).
 * Exit 1 when a finding is an error (with --strict: also a warning).
 */
import type { Command } from "commander";
import { adminSettingsFrom } from "../../admin/admin-settings.ts";
import type { DoctorReport } from "../../gen/admin/admin_pb.ts";
import { connectAdmin, LONG_DEADLINE_MS } from "../admin-client.ts";
import { isOffline, withOfflineDatabase } from "../offline-database.ts";

/** The doctor lists at most this many job ids per finding (src/admin/doctor.ts). */
const SAMPLE_SIZE = 20;
import { print, printJson, renderFields } from "../output.ts";

export function addDoctorCommand(program: Command): void {
  program
    .command("doctor")
    .description("check a database: schema, invariant-breaking rows, quarantined jobs, orphaned checkpoints")
    .option("--offline", "check the database directly (the configured one) instead of through --server")
    .option("--strict", "exit 1 on warnings too")
    .action(async (flags: { strict?: boolean }, command: Command) => {
      const json = command.optsWithGlobals<{ json?: boolean }>().json === true;
      let report: DoctorReport;
      if (isOffline(command)) {
        const { create } = await import("@bufbuild/protobuf");
        const { runDoctor } = await import("../../admin/doctor.ts");
        const { DoctorReportSchema } = await import("../../gen/admin/admin_pb.ts");
        report = await withOfflineDatabase(command, { write: false, what: "doctor" }, async ({ db, config }) =>
          create(DoctorReportSchema, await runDoctor(db, { deadExecutionManagerCutoffMs: adminSettingsFrom(config).deadExecutionManagerCutoffMs })),
        );
      } else {
        const admin = await connectAdmin(command);
        try {
          report = await admin.call((o) => admin.inspection.runDoctor({}, o), LONG_DEADLINE_MS);
        } finally {
          admin.close();
        }
      }
      const failing = report.findings.some((f) => f.severity === "error" || (flags.strict === true && f.severity === "warning"));
      if (failing) process.exitCode = 1;
      if (json) return printJson(report);
      const schema = report.schema!;
      print(
        renderFields([
          ["schema", `${schema.applied.length} migration(s) applied, ${schema.pending.length} pending${schema.unknown.length ? `, ${schema.unknown.length} unknown to this version` : ""}`],
          [
            "lease",
            report.leaseHeld
              ? `held by ${report.leaseHolder} (epoch ${report.leaseEpoch}, ${report.leaseRemainingMs} ms left)`
              : `free: no server is running on this database${report.leaseHolder ? ` (last: ${report.leaseHolder}, epoch ${report.leaseEpoch})` : ""}`,
          ],
        ]),
      );
      print();
      if (report.findings.length === 0) {
        print("no problems found");
        return;
      }
      for (const finding of report.findings) {
        print(`${finding.severity.toUpperCase()} ${finding.check}: ${finding.message}`);
        if (finding.jobIds.length > 0) print(`  jobs: ${finding.jobIds.join(", ")}${finding.jobIds.length >= SAMPLE_SIZE ? ", …" : ""}`);
        if (finding.fix !== "") print(`  fix: ${finding.fix}`);
      }
      print();
      print(report.healthy ? "healthy (no errors)" : "NOT healthy: see the errors above");
    });
}
