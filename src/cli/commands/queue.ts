/**
 * `spider-storage queue resend`: refills the inbound queue with every ready
 * task that has no entry — what a scheduler that restarted (and lost the
 * tasks it had polled) needs; registering a new scheduler does it too.
 */
import type { Command } from "commander";
import { connectAdmin } from "../admin-client.ts";
import { print, printJson, renderTable } from "../output.ts";

export function addQueueCommand(program: Command): void {
  const queue = program.command("queue").description("the inbound queue of ready tasks");
  queue
    .command("resend")
    .description("re-enqueue every ready task that has no queue entry (after a scheduler lost its polled tasks)")
    .option("--reason <text>", "why (logged)")
    .action(async (flags: { reason?: string }, command: Command) => {
      const json = command.optsWithGlobals<{ json?: boolean }>().json === true;
      const admin = await connectAdmin(command);
      try {
        const answer = await admin.call((o) => admin.repair.resendQueue({ reason: flags.reason ?? "" }, o));
        if (json) return printJson(answer);
        print(`${answer.enqueued} task(s) enqueued`);
        print(renderTable(["LANE", "DEPTH", "WAITING POLLERS"], answer.lanes.map((l) => [l.lane, l.depth, l.waitingPollers])));
      } finally {
        admin.close();
      }
    });
}
