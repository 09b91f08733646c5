import { sql } from "kysely";
import { createServer, type AddressInfo } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { createDb } from "../../src/db/connection.ts";
import { ServerProcess } from "../../testkit/server-process.ts";
import { testDatabase } from "../../testkit/test-database.ts";
import { waitFor } from "../../testkit/wait-for.ts";

describe("spider-storage serve", () => {
  const servers: ServerProcess[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.kill()));
  });

  it("answers GetSession with a strictly larger session after each restart, and stops cleanly on SIGTERM", async () => {
    const databaseUrl = await testDatabase("serve");
    const sessions: bigint[] = [];
    for (let i = 0; i < 3; i++) {
      const server = await ServerProcess.start({ databaseUrl });
      servers.push(server);
      sessions.push(await server.waitServing());
      const exit = await server.stop();
      expect(exit.code, server.logs).toBe(0);
    }
    expect(sessions[0]).toBeGreaterThan(0n);
    expect(sessions[1]).toBeGreaterThan(sessions[0]!);
    expect(sessions[2]).toBeGreaterThan(sessions[1]!);
  });

  it("keeps a larger session after SIGKILL, and logs JSON lines", async () => {
    const databaseUrl = await testDatabase("serve");
    const first = await ServerProcess.start({ databaseUrl });
    servers.push(first);
    const s1 = await first.waitServing();
    await first.kill();
    const second = await ServerProcess.start({ databaseUrl });
    servers.push(second);
    expect(await second.waitServing()).toBeGreaterThan(s1);
    const serving = second.logs
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((entry) => entry["msg"] === "serving");
    expect(serving?.["session"]).toBe(String(s1 + 1n));
    await second.stop();
  });

  it("fails the start-up with exit code 1 when its port is in use, naming the port", async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen({ host: "127.0.0.1", port: 0 }, resolve));
    const port = (taken.address() as AddressInfo).port;
    try {
      const server = await ServerProcess.start({ databaseUrl: await testDatabase("serve"), port });
      servers.push(server);
      expect((await server.exited).code).toBe(1);
      expect(server.logs).toContain(`cannot listen on 127.0.0.1 port ${port}: listen EADDRINUSE`);
    } finally {
      taken.close();
    }
  });

  it("waits for a database that is down at start-up, then serves once it is up", async () => {
    const { startMariaDb } = await import("../../testkit/mariadb.ts");
    const mariadb = await startMariaDb();
    try {
      const databaseUrl = await mariadb.createDatabase("late");
      await mariadb.process.stop();
      const server = await ServerProcess.start({ databaseUrl });
      servers.push(server);
      await waitFor("the server to log that it waits for the database (or to exit)", () => server.logs.includes("database not reachable yet") || !server.running);
      expect(server.running).toBe(true);
      expect(server.logs).toContain("database not reachable yet");
      await mariadb.process.start();
      expect(await server.waitServing(30_000)).toBeGreaterThan(0n);
      expect((await server.stop()).code).toBe(0);
    } finally {
      await mariadb.destroy();
    }
  });
  it("refuses a database whose schema is newer than this code, before taking a session, and serves again once it matches", async () => {
    const databaseUrl = await testDatabase("serve");
    const first = await ServerProcess.start({ databaseUrl });
    servers.push(first);
    const session = await first.waitServing();
    expect((await first.stop()).code).toBe(0);

    const db = createDb({ url: databaseUrl });
    try {
      await sql`INSERT INTO schema_migrations (name, timestamp) VALUES ('9999_from_a_newer_version', '2099-01-01T00:00:00.000Z')`.execute(db);
      const refused = await ServerProcess.start({ databaseUrl });
      servers.push(refused);
      const exit = await refused.exited;
      expect(exit.code, refused.logs).toBe(1);
      expect(refused.logs).toContain("newer than this spider-storage");
      expect(refused.logs).toContain("9999_from_a_newer_version");
      const sessions = await sql<{ id: bigint }>`SELECT MAX(session_id) AS id FROM sessions`.execute(db);
      expect(BigInt(sessions.rows[0]!.id)).toBe(session);

      await sql`DELETE FROM schema_migrations WHERE name = '9999_from_a_newer_version'`.execute(db);
      const again = await ServerProcess.start({ databaseUrl });
      servers.push(again);
      expect(await again.waitServing()).toBeGreaterThan(session);
      expect((await again.stop()).code).toBe(0);
    } finally {
      await db.destroy();
    }
  });
});
