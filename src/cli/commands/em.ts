/**
 * `spider-storage em list` (execution managers, their heartbeats and live
 * instances) and `em release ID` (declare one dead now: its instances' tasks
 * are re-enqueued without consuming retries, its next heartbeat is refused).
 */
import type { Command } from "commander";
import { connectAdmin } from "../admin-client.ts";
import { parseId } from "../arguments.ts";
import { formatDuration, formatTime, print, printJson, renderTable } from "../output.ts";

export function addEmCommand(program: Command): void {
  const em = program.command("em").description("look at execution managers and release dead ones");

  em.command("list")
    .description("list execution managers with their state, last heartbeat and live task instances")
    .option("--state <state>", "only Alive or Dead ones")
    .action(async (flags: { state?: string }, command: Command) => {
      const json = command.optsWithGlobals<{ json?: boolean }>().json === true;
      const admin = await connectAdmin(command);
      try {
        const answer = await admin.call((o) => admin.inspection.listExecutionManagers({ state: flags.state ?? "" }, o));
        if (json) return printJson(answer);
        if (answer.executionManagers.length === 0) {
          print("no execution managers");
          return;
        }
        print(
          renderTable(
            ["EXECUTION MANAGER", "ADDRESS", "STATE", "LAST HEARTBEAT", "SILENT FOR", "INSTANCES", "REGISTERED", "DEAD SINCE"],
            answer.executionManagers.map((m) => [
              m.executionManagerId,
              m.ipAddress,
              m.state,
              formatTime(m.lastHeartbeatAtMs),
              formatDuration(m.heartbeatAgeMs),
              m.liveInstances,
              formatTime(m.registeredAtMs),
              formatTime(m.deathConfirmedAtMs),
            ]),
          ),
        );
      } finally {
        admin.close();
      }
    });

  em.command("release")
    .description("declare an execution manager dead now; its task instances' tasks run elsewhere")
    .argument("<id>", "execution manager id", parseId("execution manager id"))
    .option("--reason <text>", "why (logged)")
    .action(async (executionManagerId: bigint, flags: { reason?: string }, command: Command) => {
      const json = command.optsWithGlobals<{ json?: boolean }>().json === true;
      const admin = await connectAdmin(command);
      try {
        const answer = await admin.call((o) => admin.repair.releaseExecutionManager({ executionManagerId, reason: flags.reason ?? "" }, o));
        if (json) return printJson(answer);
        print(
          `execution manager ${executionManagerId}: ${answer.wasAlive ? "declared dead" : "was already dead"}; ` +
            `${answer.releasedInstances} task instance(s) released, their tasks re-enqueued`,
        );
      } finally {
        admin.close();
      }
    });
}
