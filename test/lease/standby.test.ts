/**
 * One writer per database (DECISIONS D3), with real server processes on one
 * MariaDB: a second server waits as a standby (UNAVAILABLE, health
 * NOT_SERVING, `status` naming the leader) and takes over when the first dies
 * or stops; a deposed server goes back to standby in the same process and can
 * lead again; `migrate` refuses while a server holds the lease.
 */
import { spawnSync } from "node:child_process";
import * as grpc from "@grpc/grpc-js";
import { createConnection } from "mysql2/promise";
import { afterAll, describe, expect, it } from "vitest";
import { poolOptionsFromUrl } from "../../src/db/connection.ts";
import { STANDBY_MESSAGE } from "../../src/db/lease.ts";
import { InspectionService, type GetStatusResponse } from "../../src/gen/admin/admin_pb.ts";
import { SessionManagementService } from "../../src/gen/storage/storage_pb.ts";
import { createPromiseClient } from "../../src/grpc/adapter.ts";
import { CLI_MAIN, REPO_ROOT, ServerProcess } from "../../testkit/server-process.ts";
import { testDatabase } from "../../testkit/test-database.ts";
import { waitFor } from "../../testkit/wait-for.ts";

/** Short lease timings (2 × renew ≤ ttl − margin). */
function leaseEnv(ttlMs: number, holder: string): Record<string, string> {
  return {
    SPIDER_STORAGE_RUNTIME__LEASE__TTL_MS: String(ttlMs),
    SPIDER_STORAGE_RUNTIME__LEASE__RENEW_INTERVAL_MS: "200",
    SPIDER_STORAGE_RUNTIME__LEASE__STEP_DOWN_MARGIN_MS: "600",
    SPIDER_STORAGE_RUNTIME__LEASE__HOLDER_NAME: holder,
  };
}

async function getSessionCode(address: string): Promise<number | bigint> {
  const client = createPromiseClient(SessionManagementService, address);
  try {
    // A generous deadline: a slow answer must not read as DEADLINE_EXCEEDED instead of the code under test.
    return (await client.getSession({}, { deadlineMs: 20_000 })).sessionId;
  } catch (error) {
    return (error as grpc.ServiceError).code;
  } finally {
    client.close();
  }
}

async function status(address: string): Promise<GetStatusResponse> {
  const client = createPromiseClient(InspectionService, address);
  try {
    return await client.getStatus({}, { deadlineMs: 20_000 });
  } finally {
    client.close();
  }
}

describe("two servers on one database", () => {
  const servers: ServerProcess[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.kill()));
  });

  it("keeps the second as an UNAVAILABLE standby naming the leader, and lets it take over after SIGKILL", async () => {
    const databaseUrl = await testDatabase("standby");
    const first = await ServerProcess.start({ databaseUrl, env: leaseEnv(2_000, "first:1") });
    servers.push(first);
    const firstSession = await first.waitServing();

    const second = await ServerProcess.start({ databaseUrl, env: leaseEnv(2_000, "second:2") });
    servers.push(second);
    await waitFor("the standby message", () => second.logs.includes(STANDBY_MESSAGE), { timeoutMs: 20_000 });
    expect(await getSessionCode(second.address)).toBe(grpc.status.UNAVAILABLE);
    expect(await getSessionCode(first.address)).toBe(firstSession);
    const standby = await status(second.address);
    expect(standby.phase).toBe("standby");
    expect(standby.serving).toBe(false);
    expect(standby.leader).toMatchObject({ known: true, thisServer: false, holder: "first:1", held: true });
    const leader = await status(first.address);
    expect(leader.leader).toMatchObject({ known: true, thisServer: true, holder: "first:1", held: true, epoch: standby.leader!.epoch });
    expect(second.logs.split(STANDBY_MESSAGE).length - 1).toBe(1);

    await first.kill();
    const secondSession = await second.waitServing(20_000);
    expect(secondSession).toBeGreaterThan(firstSession);
    expect(second.logs).toContain("database lease taken over: no longer standby");
    const after = await status(second.address);
    expect(after.leader).toMatchObject({ thisServer: true, holder: "second:2", epoch: standby.leader!.epoch + 1n });
    expect((await second.stop()).code).toBe(0);
  });

  it("hands the lease over at once on a clean stop: the standby does not wait out a ten-minute TTL", async () => {
    const databaseUrl = await testDatabase("standby");
    const first = await ServerProcess.start({ databaseUrl, env: leaseEnv(600_000, "first") });
    servers.push(first);
    await first.waitServing();
    const second = await ServerProcess.start({ databaseUrl, env: leaseEnv(600_000, "second") });
    servers.push(second);
    await waitFor("the standby message", () => second.logs.includes(STANDBY_MESSAGE), { timeoutMs: 20_000 });
    expect((await first.stop()).code).toBe(0);
    await second.waitServing(30_000);
    expect((await second.stop()).code).toBe(0);
  });

  it("steps a deposed server down to standby in the same process, which leads again with a new session once the lease is free", async () => {
    const databaseUrl = await testDatabase("standby");
    const server = await ServerProcess.start({ databaseUrl, env: leaseEnv(2_000, "the server") });
    servers.push(server);
    const session = await server.waitServing();

    // A client connected to the leader: on the step-down it must be told to reconnect (GOAWAY), or it
    // would retry UNAVAILABLE on this standby for ever instead of reaching the new leader.
    const connected = new grpc.Client(server.address, grpc.credentials.createInsecure());
    await new Promise<void>((resolve, reject) => connected.waitForReady(Date.now() + 10_000, (error) => (error ? reject(error) : resolve())));
    expect(connected.getChannel().getConnectivityState(false)).toBe(grpc.connectivityState.READY);
    const sql = await createConnection(poolOptionsFromUrl(databaseUrl));
    try {
      // Another server took over (as one may after the lease expired): a new epoch.
      await sql.query("UPDATE leader_lease SET epoch = epoch + 1, holder = 'usurper', expires_at = NOW(6) + INTERVAL 3 SECOND WHERE id = 1");
      await waitFor("the step-down", () => server.logs.includes("stepping down to standby"), { timeoutMs: 20_000 });
      expect(server.running).toBe(true);
      await waitFor("the leader's client connections to be closed", () => connected.getChannel().getConnectivityState(false) !== grpc.connectivityState.READY, {
        timeoutMs: 10_000,
      });
      // The usurper holds the row but has no lease connection: the same process takes it back and serves a new session.
      const next = await server.waitServing(30_000);
      expect(next).toBeGreaterThan(session);
      expect(server.running).toBe(true);
    } finally {
      connected.close();
      await sql.end();
    }
    expect((await server.stop()).code).toBe(0);
  });

  it("makes `migrate` refuse while a server holds the lease, naming the holder", async () => {
    const databaseUrl = await testDatabase("standby");
    const server = await ServerProcess.start({ databaseUrl, env: leaseEnv(2_000, "the running server") });
    servers.push(server);
    await server.waitServing();
    const migrate = spawnSync(process.execPath, [CLI_MAIN, "migrate", "--database-url", databaseUrl], {
      cwd: REPO_ROOT,
      encoding: "utf8",
      timeout: 20_000,
    });
    expect(migrate.status).toBe(1);
    expect(migrate.stderr).toContain("another spider-storage holds the database lease (the running server)");
    expect((await server.stop()).code).toBe(0);
  });
});
