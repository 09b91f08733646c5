/**
 * The bundle (scripts/bundle.ts) runs the same program: built into a temporary
 * directory from the sources and started like the bin entry starts it, it
 * serves, answers health and reflection, serves the console's files and
 * prints the version. (CI's `npm ci` builds dist/bundle/, so every test that
 * spawns the bin entry runs it too.)
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildBundle } from "../../scripts/bundle.ts";
import { VERSION } from "../../src/app/version.ts";
import { BUNDLE_ENTRY } from "../../src/cli/fresh-bundle.js";
import { freePort } from "../../testkit/free-port.ts";
import { ServerProcess } from "../../testkit/server-process.ts";
import { waitFor } from "../../testkit/wait-for.ts";
import { testDatabase } from "../../testkit/test-database.ts";
import { HealthClientWrapper } from "../../testkit/health-client.ts";
import { ReflectionClient } from "../operability/helpers.ts";

describe("the bundled program", () => {
  let outDir: string;
  let entry: string;
  beforeAll(async () => {
    // Inside the project: the bundle loads a few packages from node_modules at run time.
    mkdirSync(new URL("../../dist/", import.meta.url), { recursive: true });
    outDir = mkdtempSync(fileURLToPath(new URL("../../dist/bundle-test-", import.meta.url)));
    const manifest = await buildBundle(outDir);
    entry = join(outDir, manifest.entry);
    expect(manifest.entry).toBe(BUNDLE_ENTRY);
    expect(manifest.inputs.map((input) => input.path)).toEqual(expect.arrayContaining(["src/cli/main.ts", "src/app/storage-server.ts", "migrations/index.ts", "package-lock.json"]));
  }, 120_000);
  afterAll(() => rmSync(outDir, { recursive: true, force: true }));

  it("prints the package's version", () => {
    expect(execFileSync(process.execPath, [entry, "--version"], { encoding: "utf8" }).trim()).toBe(VERSION);
  });

  it("migrates, serves, answers health and reflection, and serves the console's own files", async () => {
    const databaseUrl = await testDatabase("bundle");
    const consolePort = await freePort();
    const server = await ServerProcess.start({ databaseUrl, entry, env: { SPIDER_STORAGE_RUNTIME__CONSOLE__PORT: String(consolePort) } });
    const health = new HealthClientWrapper(server.address);
    const reflection = new ReflectionClient(server.address);
    try {
      expect(await server.waitServing()).toBeGreaterThan(0n);
      expect(await health.check("")).toBe("SERVING");
      // The console comes up once the server serves (CONSOLE_DELAY_MS).
      expect(await reflection.listServices()).toEqual(expect.arrayContaining(["grpc.health.v1.Health", "storage.JobOrchestrationService"]));
      await waitFor("the web console", () => server.logs.includes('"msg":"web console listening"'));
      const page = await fetch(`http://127.0.0.1:${consolePort}/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toBe(readFileSync(new URL("../../src/console/assets/index.html", import.meta.url), "utf8"));
      expect((await server.stop()).code).toBe(0);
    } finally {
      health.close();
      reflection.close();
      await server.kill();
    }
  });
});
