/**
 * An offline write command that runs while a server is cut off from its lease
 * (issue 16, DECISIONS D3): once the lease has expired by the database's
 * clock, the command takes it and changes a job behind the server's back. The
 * server must notice when it can renew again — the epoch is no longer its own
 * — and step down to standby rather than serve a stale cache; it then takes
 * the lease back (the command released it) and recovers the job as the
 * command left it, in the same process.
 *
 * The window is made deterministic by freezing the server process (SIGSTOP)
 * until the lease has expired and the command has run.
 */
import { afterAll, describe, expect, it } from "vitest";
import { expectExit, runCli } from "../cli/cli-helpers.ts";
import { JobWorkload } from "../faults/job-workload.ts";
import { ServerProcess } from "../../testkit/server-process.ts";
import { connectStorage } from "../../testkit/sim/storage-clients.ts";
import { testDatabase } from "../../testkit/test-database.ts";
import { FAST_LEASE_ENV as LEASE_ENV, freezeProcess, LogWatcher, storedLease, tableFacts } from "./outage-helpers.ts";
import { waitFor } from "../../testkit/wait-for.ts";

const DEPOSED = "deposed: another spider-storage leads now; stepping down to standby";
const RESUMED = "database lease renewed: serving again with the same session";

describe("offline write while the server's lease is lost", () => {
  const servers: ServerProcess[] = [];
  afterAll(async () => {
    for (const server of servers) if (server.running && server.child.pid) process.kill(server.child.pid, "SIGCONT");
    await Promise.all(servers.map((server) => server.kill()));
  });

  it("makes the server step down instead of resuming with a cache the command made stale", async () => {
    const url = await testDatabase("offline_write");
    const server = await ServerProcess.start({ databaseUrl: url, env: LEASE_ENV });
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
        // The command refuses while the lease runs, and takes it once it has expired.
        await waitFor("the frozen server's lease to expire", async () => (await storedLease(url))?.held === false, { timeoutMs: 20_000 });
        const repair = await runCli(["jobs", "fail", String(job.id), "--reason", "operator test", "--database-url", url], { env: LEASE_ENV });
        expectExit(repair, 0);
      } finally {
        thaw();
      }

      await waitFor("the server to resume or to step down", () => logs.count(RESUMED) > 0 || logs.count(DEPOSED) > 0, { timeoutMs: 30_000 });
      expect(logs.count(RESUMED), "the server resumed with a stale cache").toBe(0);
      expect(server.running).toBe(true);
      expect((await tableFacts(url)).latestSession).toBeGreaterThan(session);

      // The same process leads again and recovers the job as the command left it.
      const next = await server.waitServing(30_000);
      expect(next).toBeGreaterThan(session);
      const again = connectStorage(server.address);
      try {
        expect((await again.jobs.getJobError({ jobId: job.id })).errorMessage).toContain("operator test");
      } finally {
        again.close();
      }
      expect((await server.stop()).code).toBe(0);
    } finally {
      clients.close();
    }
  });
});
