/**
 * One writer per database (DECISIONS D3), with real server processes: a second
 * server waits as a standby (UNAVAILABLE) and takes over when the first dies;
 * a server that loses its lease while nobody else takes it retakes it and
 * carries on with the same session (issue 10; takeovers while the lease was
 * lost are in test/outage/lease-loss.test.ts); `migrate` refuses while a
 * server holds it.
 */
import { spawnSync } from "node:child_process";
import * as grpc from "@grpc/grpc-js";
import { createConnection, type RowDataPacket } from "mysql2/promise";
import { afterAll, describe, expect, it } from "vitest";
import { poolOptionsFromUrl } from "../../src/db/connection.ts";
import { leaseName, STANDBY_MESSAGE } from "../../src/db/lease.ts";
import { SessionManagementService } from "../../src/gen/storage/storage_pb.ts";
import { createPromiseClient } from "../../src/grpc/adapter.ts";
import { CLI_MAIN, REPO_ROOT, ServerProcess } from "../../testkit/server-process.ts";
import { testDatabase } from "../../testkit/test-database.ts";
import { waitFor } from "../../testkit/wait-for.ts";

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

async function leaseHolder(url: string): Promise<number> {
  const connection = await createConnection(poolOptionsFromUrl(url));
  try {
    const database = poolOptionsFromUrl(url).database!;
    const [rows] = await connection.query<RowDataPacket[]>("SELECT IS_USED_LOCK(?) AS holder", [leaseName(database)]);
    return Number(rows[0]?.["holder"]);
  } finally {
    await connection.end();
  }
}

describe("two servers on one database", () => {
  const servers: ServerProcess[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.kill()));
  });

  it("keeps the second as an UNAVAILABLE standby while the first serves, and lets it take over after SIGKILL", async () => {
    const databaseUrl = await testDatabase("standby");
    const first = await ServerProcess.start({ databaseUrl });
    servers.push(first);
    const firstSession = await first.waitServing();

    const second = await ServerProcess.start({ databaseUrl });
    servers.push(second);
    await waitFor("the standby message", () => second.logs.includes(STANDBY_MESSAGE), { timeoutMs: 20_000 });
    expect(await getSessionCode(second.address)).toBe(grpc.status.UNAVAILABLE);
    expect(await getSessionCode(first.address)).toBe(firstSession);
    expect(second.logs.split(STANDBY_MESSAGE).length - 1).toBe(1);

    await first.kill();
    const secondSession = await second.waitServing(20_000);
    expect(secondSession).toBeGreaterThan(firstSession);
    expect(second.logs).toContain("database lease taken over: no longer standby");
    expect((await second.stop()).code).toBe(0);
  });

  it("retakes the lease when its lease connection dies, and `migrate` refuses while a server holds the lease", async () => {
    const databaseUrl = await testDatabase("standby");
    const server = await ServerProcess.start({ databaseUrl });
    servers.push(server);
    const session = await server.waitServing();

    const migrate = spawnSync(process.execPath, [CLI_MAIN, "migrate", "--database-url", databaseUrl], {
      cwd: REPO_ROOT,
      encoding: "utf8",
      timeout: 20_000,
    });
    expect(migrate.status).toBe(1);
    expect(migrate.stderr).toContain("another spider-storage holds the database lease");

    const admin = await createConnection(poolOptionsFromUrl(databaseUrl));
    try {
      await admin.query(`KILL ${await leaseHolder(databaseUrl)}`);
    } finally {
      await admin.end();
    }
    await waitFor("the lease retaken", () => server.logs.includes("database lease retaken: serving again with the same session"), { timeoutMs: 10_000 });
    expect(server.logs).toContain("database lease lost");
    expect(server.running).toBe(true);
    expect(await getSessionCode(server.address)).toBe(session);
    expect((await server.stop()).code).toBe(0);
  });
});
