/**
 * What the serve process does with a failure nothing handled (a bug): an
 * unhandled promise rejection is logged with its stack and counted in
 * spider_storage_unhandled_rejections_total, and the server keeps serving; an
 * uncaught exception is logged and the process exits 1, so a supervisor
 * restarts a clean one. The failures are made by a preloaded fixture on
 * SIGUSR2, in the real server process.
 */
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { freePort } from "../../testkit/free-port.ts";
import { ServerProcess } from "../../testkit/server-process.ts";
import { testDatabase } from "../../testkit/test-database.ts";
import { waitFor } from "../../testkit/wait-for.ts";

const TRIGGER = fileURLToPath(new URL("./fixtures/failure-trigger.js", import.meta.url));

async function waitForLog(server: ServerProcess, text: string, timeoutMs = 30_000): Promise<void> {
  await waitFor(
    () => `"${text}" in the server's log:\n${server.logs.slice(-4000)}`,
    () => {
      if (server.logs.includes(text)) return true;
      if (!server.running) throw new Error(`server exited before logging "${text}":\n${server.logs.slice(-4000)}`);
      return false;
    },
    { timeoutMs, intervalMs: 20 },
  );
}

describe("the serve process's policy for failures nothing handled", () => {
  const servers: ServerProcess[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((server) => server.kill()));
  });

  async function start(failure: "reject" | "throw", metricsPort?: number): Promise<ServerProcess> {
    const server = await ServerProcess.start({
      databaseUrl: await testDatabase("failure_policy"),
      env: {
        NODE_OPTIONS: `--import=${TRIGGER}`,
        SPIDER_TEST_FAILURE: failure,
        ...(metricsPort === undefined
          ? {}
          : { SPIDER_STORAGE_RUNTIME__METRICS__ENABLED: "true", SPIDER_STORAGE_RUNTIME__METRICS__PORT: String(metricsPort) }),
      },
    });
    servers.push(server);
    await server.waitServing();
    return server;
  }

  it("an unhandled rejection is logged with its stack and counted, and the server keeps serving", async () => {
    const metricsPort = await freePort();
    const server = await start("reject", metricsPort);
    const count = async () => {
      const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      return Number(/^spider_storage_unhandled_rejections_total (\d+)$/m.exec(text)?.[1]);
    };
    expect(await count()).toBe(0);
    server.child.kill("SIGUSR2");
    await waitForLog(server, "unhandled promise rejection (a bug): logged and counted; the server keeps serving");
    expect(server.logs).toContain("test: an unhandled rejection");
    expect(await count()).toBe(1);
    await server.waitServing();
    expect((await server.stop()).code).toBe(0);
  });

  it("an uncaught exception is logged and the process exits 1 for its supervisor to restart", async () => {
    const server = await start("throw");
    server.child.kill("SIGUSR2");
    const exit = await server.exited;
    expect(exit.code).toBe(1);
    expect(server.logs).toContain('"msg":"uncaught exception (a bug): exiting with code 1 so that a supervisor restarts a clean process"');
    expect(server.logs).toContain("test: an uncaught exception");
  });
});
