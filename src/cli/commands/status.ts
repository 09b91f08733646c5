/**
 * `spider-storage status`: what a running server is doing — phase and
 * readiness, session, uptime, recovery progress, jobs by state, queue depth
 * per lane, live instances and execution managers, the periodic GC, and who
 * leads (a standby names the leader).
 * Exit 0 when the server serves, 1 otherwise (reachable but not serving, or
 * unreachable), so scripts can use it as a check.
 */
import type { Command } from "commander";
import { connectAdmin } from "../admin-client.ts";
import type { LeaderStatus } from "../../gen/admin/admin_pb.ts";
import { formatDuration, formatTime, print, printJson, renderFields, renderTable } from "../output.ts";

/** "this server (epoch 3)", "host-b:50051 (epoch 4, …)", or why it is not known. */
function leaderLine(leader: LeaderStatus | undefined): string {
  if (!leader?.known) return "unknown (the database cannot be read)";
  if (!leader.held) return `none: the lease has expired${leader.holder ? ` (last: ${leader.holder}, epoch ${leader.epoch})` : ""}`;
  const who = leader.thisServer ? "this server" : leader.holder;
  return `${who} (epoch ${leader.epoch}, lease ${formatDuration(leader.remainingMs)} left)`;
}

export function addStatusCommand(program: Command): void {
  program
    .command("status")
    .description("show what a running server is doing (online: --server)")
    .action(async (_flags: unknown, command: Command) => {
      const json = command.optsWithGlobals<{ json?: boolean }>().json === true;
      const admin = await connectAdmin(command);
      try {
        const status = await admin.call((o) => admin.inspection.getStatus({}, o));
        if (!status.serving) process.exitCode = 1;
        if (json) return printJson(status);
        const recovery = status.recovery;
        const gc = status.gc;
        print(
          renderFields([
            ["server", `${admin.address} (spider-storage ${status.version}, pid ${status.pid})`],
            ["phase", status.serving ? "serving" : `${status.phase} (not serving)`],
            ["leader", leaderLine(status.leader)],
            ["session", status.sessionId === 0n ? "-" : status.sessionId],
            ["uptime", `${formatDuration(status.uptimeMs)} (since ${formatTime(status.startedAtMs)})`],
            [
              "recovery",
              recovery?.known
                ? `${recovery.done ? "done" : "in progress"}: ${recovery.jobsLoaded} of ${recovery.jobsTotal} job(s) in ${formatDuration(recovery.elapsedMs)}, ${recovery.jobsQuarantined} quarantined`
                : "-",
            ],
            ["admin access", status.adminTokenRequired ? "token required" : "loopback callers only (no token set)"],
            ["cached jobs", status.cachedJobs],
            ["live task instances", status.liveTaskInstances],
            ["execution managers", `${status.aliveExecutionManagers} alive, ${status.deadExecutionManagers} dead`],
            [
              "gc",
              gc?.enabled
                ? `every ${formatDuration(Number(gc.intervalSec) * 1000)}, retention ${formatDuration(Number(gc.retentionSec) * 1000)}; ` +
                  (gc.lastRunAtMs === 0n
                    ? "not run yet"
                    : `last run ${formatTime(gc.lastRunAtMs)}: ${gc.lastError ? `failed (${gc.lastError})` : `${gc.lastDeleted} deleted`}; ${gc.totalDeleted} deleted since start`)
                : "off (runtime.gc.enabled)",
            ],
          ]),
        );
        print();
        if (status.databaseError) print(`jobs: unknown (${status.databaseError})`);
        else print(renderTable(["STATE", "JOBS"], status.jobsByState.map((s) => [s.state, s.count])));
        print();
        print(
          renderTable(
            ["LANE", "DEPTH", "OLDEST", "WAITING POLLERS"],
            status.lanes.map((lane) => [lane.lane, lane.depth, lane.depth === 0n ? "-" : formatDuration(lane.oldestAgeMs), lane.waitingPollers]),
          ),
        );
      } finally {
        admin.close();
      }
    });
}
