/**
 * Admin authentication and the server's periodic GC, through the real CLI and
 * a real server configured with a token and a short GC interval and retention.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "../../src/db/connection.ts";
import { ServerProcess } from "../../testkit/server-process.ts";
import { addResourceGroup, SimulatedCluster, submitJob, waitForJobs } from "../../testkit/sim/cluster.ts";
import { singleTask } from "../../testkit/sim/job-shapes.ts";
import { testDatabase } from "../../testkit/test-database.ts";
import { expectCleanFailure, jsonOf, openDb, runCli } from "./cli-helpers.ts";
import { waitFor } from "../../testkit/wait-for.ts";

const TOKEN = "s3cret-admin-token";

describe("admin token and periodic GC", () => {
  let server: ServerProcess;
  let cluster: SimulatedCluster;
  let db: Db;
  let dir: string;

  beforeAll(async () => {
    const databaseUrl = await testDatabase("cli_auth");
    server = await ServerProcess.start({
      databaseUrl,
      env: {
        SPIDER_STORAGE_RUNTIME__ADMIN__TOKEN: TOKEN,
        SPIDER_STORAGE_RUNTIME__GC__INTERVAL_SEC: "1",
        SPIDER_STORAGE_RUNTIME__GC__RETENTION_SEC: "1",
      },
    });
    await server.waitServing();
    cluster = await new SimulatedCluster(server.address, { executionManagers: 1 }).start();
    db = openDb(databaseUrl);
    dir = await mkdtemp(join(tmpdir(), "cli-auth-"));
  });
  afterAll(async () => {
    await cluster?.stop();
    await db?.destroy();
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("with a token configured, every call must carry it: missing or wrong → refused", async () => {
    const [missing, wrong, right, fromEnv, repairWithout] = await Promise.all([
      runCli(["--server", server.address, "status"]),
      runCli(["--server", server.address, "--token", "not-it", "status"]),
      runCli(["--server", server.address, "--token", TOKEN, "--json", "status"]),
      runCli(["--server", server.address, "--json", "status"], { env: { SPIDER_STORAGE_RUNTIME__ADMIN__TOKEN: TOKEN } }),
      runCli(["--server", server.address, "queue", "resend"]),
    ]);
    expectCleanFailure(missing!, 1, /requires a token/);
    expectCleanFailure(wrong!, 1, /wrong token/);
    expect(jsonOf(right!)).toMatchObject({ serving: true, adminTokenRequired: true });
    expect(jsonOf(fromEnv!)).toMatchObject({ serving: true });
    expectCleanFailure(repairWithout!, 1, /requires a token/);

    // The server's own config file gives the CLI the address and the token.
    const config = join(dir, "storage.yaml");
    await writeFile(config, `host: 127.0.0.1\nport: ${server.port}\nruntime:\n  admin:\n    token: ${TOKEN}\n`);
    expect(jsonOf(await runCli(["-c", config, "--json", "status"]))).toMatchObject({ serving: true });

    // Writes are logged with the actor "token".
    jsonOf(await runCli(["--server", server.address, "--token", TOKEN, "--json", "queue", "resend", "--reason", "token check"]));
    const audit = server.logs.split("\n").find((line) => line.includes('"audit":true') && line.includes("token check"));
    expect(JSON.parse(audit!)).toMatchObject({ action: "queue resent", actor: "token", reason: "token check" });
    expect(audit).not.toContain(TOKEN);
  });

  it("the server's periodic GC deletes terminal jobs once their retention has passed", async () => {
    const rg = await addResourceGroup(cluster.clients);
    const jobId = await submitJob(cluster.clients, rg, singleTask({ seed: 501 }));
    expect((await waitForJobs(cluster.clients, [jobId])).get(jobId)).toBe("Succeeded");
    await waitFor("the GC to delete the job", async () => (await db.selectFrom("jobs").select("id").where("id", "=", jobId).executeTakeFirst()) === undefined, { timeoutMs: 15_000 });
    const gc = jsonOf(await runCli(["--server", server.address, "--token", TOKEN, "--json", "status"])).gc;
    expect(gc).toMatchObject({ enabled: true, retentionSec: "1", intervalSec: "1", lastError: "" });
    expect(Number(gc.totalDeleted)).toBeGreaterThanOrEqual(1);
    expect(server.logs).toContain("terminal-job GC: deleted expired jobs");
  });
});
