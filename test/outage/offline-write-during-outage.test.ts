/**
 * An offline write command that slips in while a server has lost its lease
 * (issue 16, DECISIONS D3): the command takes the free lease and changes a
 * job behind the server's back. When the server retakes the lease it must
 * notice that someone else wrote meanwhile (the command started a session) and
 * step down — exit 1, so a supervisor restarts it and recovery rebuilds the
 * cache from the database — rather than serve a stale cache.
 *
 * The window is made deterministic by freezing the server process (SIGSTOP)
 * while its lease connection is killed and the command runs.
 */
import { afterAll, describe, expect, it } from "vitest";
import { expectExit, runCli } from "../cli/cli-helpers.ts";
import { JobWorkload } from "../faults/job-workload.ts";
import { ServerProcess } from "../../testkit/server-process.ts";
import { connectStorage } from "../../testkit/sim/storage-clients.ts";
import { testDatabase } from "../../testkit/test-database.ts";
import { freezeProcess, killConnection, leaseHolder, LogWatcher, tableFacts } from "./outage-helpers.ts";
import { waitFor } from "../../testkit/wait-for.ts";

const SUPERSEDED = "this server must not resume: it was superseded";
const RESUMED = "database lease retaken: serving again with the same session";

describe("offline write while the server's lease is lost", () => {
  const servers: ServerProcess[] = [];
  afterAll(async () => {
    for (const server of servers) if (server.running && server.child.pid) process.kill(server.child.pid, "SIGCONT");
    await Promise.all(servers.map((server) => server.kill()));
  });

  it("makes the server step down instead of resuming with a cache the command made stale", async () => {
    const url = await testDatabase("offline_write");
    const server = await ServerProcess.start({ databaseUrl: url });
    servers.push(server);
    const logs = new LogWatcher(server);
    const session = await server.waitServing();
    const clients = connectStorage(server.address);
    const workload = new JobWorkload(clients, 7);
    try {
      await workload.createResourceGroup();
      const job = await workload.submitOne(); // Running, cached by the server (no execution manager runs it)
      const pid = server.child.pid!;

      const thaw = await freezeProcess(pid);
      try {
        await killConnection(url, (await leaseHolder(url))!);
        const repair = await runCli(["jobs", "fail", String(job.id), "--reason", "operator test", "--database-url", url]);
        expectExit(repair, 0);
      } finally {
        thaw();
      }

      await waitFor("the server to resume or to step down", () => logs.count(RESUMED) > 0 || !server.running, { timeoutMs: 30_000 });
      expect(logs.count(RESUMED), "the server resumed with a stale cache").toBe(0);
      const exit = await server.exited;
      expect(exit.code, server.logs.slice(-3_000)).toBe(1);
      const message = String((logs.entries(SUPERSEDED)[0]?.["err"] as { message?: string } | undefined)?.message);
      expect(message).toContain(`ours ${session}`);
      expect((await tableFacts(url)).latestSession).toBeGreaterThan(session);

      // A restarted server recovers the job as the command left it.
      const restarted = await ServerProcess.start({ databaseUrl: url });
      servers.push(restarted);
      await restarted.waitServing();
      const again = connectStorage(restarted.address);
      try {
        expect((await again.jobs.getJobError({ jobId: job.id })).errorMessage).toContain("operator test");
      } finally {
        again.close();
      }
      expect((await restarted.stop()).code).toBe(0);
    } finally {
      clients.close();
    }
  });
});
