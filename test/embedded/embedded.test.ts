/**
 * The embedded MariaDB default (DECISIONS D12), with real server processes:
 * data kept across restarts, an orphaned mariadbd adopted after SIGKILL, one
 * server per data directory, and the message when MariaDB is not installed.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createConnection } from "mysql2/promise";
import { afterAll, describe, expect, it } from "vitest";
import { DataDirLockedError } from "../../src/embedded/data-dir-lock.ts";
import { createDatabaseIfMissing } from "../../src/db/server/createDatabaseIfMissing.ts";
import { defaultSocketDir, openDataDirDatabase } from "../../src/embedded/embedded-mariadb.ts";
import { isProcessAlive, terminateProcess } from "../../src/embedded/process-info.ts";
import { poolOptionsFromUrl } from "../../src/db/connection.ts";
import { CLI_MAIN, REPO_ROOT, ServerProcess } from "../../testkit/server-process.ts";

const root = mkdtempSync(join(tmpdir(), "ssemb-"));
/** No database configured, whatever the environment of the test run says. */
const env = { SPIDER_STORAGE_DATABASE_URL: "" };

function mariadbPid(dataDir: string): number | undefined {
  try {
    return Number(readFileSync(join(dataDir, "mariadb", "mariadbd.pid"), "utf8").trim());
  } catch {
    return undefined;
  }
}

const dataDirs: string[] = [];
function newDataDir(name: string): string {
  const dir = join(root, name);
  dataDirs.push(dir);
  return dir;
}

const servers: ServerProcess[] = [];
async function serve(dataDir: string, extraEnv: Record<string, string> = {}): Promise<ServerProcess> {
  const server = await ServerProcess.start({ args: ["--data-dir", dataDir], env: { ...env, ...extraEnv } });
  servers.push(server);
  return server;
}

afterAll(async () => {
  await Promise.all(servers.map((s) => s.kill()));
  for (const dir of dataDirs) {
    const pid = mariadbPid(dir);
    if (pid && isProcessAlive(pid)) await terminateProcess(pid, 20_000);
    if (existsSync(dir)) rmSync(defaultSocketDir(realpathSync(dir)), { recursive: true, force: true });
  }
  rmSync(root, { recursive: true, force: true });
});

describe("embedded MariaDB", () => {
  const dataDir = newDataDir("main");

  it("migrate --data-dir initialises the directory; serve keeps data across restarts and stops mariadbd with itself", async () => {
    const migrate = spawnSync(process.execPath, [CLI_MAIN, "migrate", "--data-dir", dataDir], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(migrate.status, migrate.stderr).toBe(0);
    expect(migrate.stdout).toContain("applied: 0001_create_sessions");
    expect(existsSync(join(dataDir, "mariadb", "mysql"))).toBe(true);

    const first = await serve(dataDir);
    const s1 = await first.waitServing();
    const pid1 = mariadbPid(dataDir)!;
    expect(isProcessAlive(pid1)).toBe(true);
    expect(first.logs).toContain("embedded MariaDB started");
    expect((await first.stop()).code).toBe(0);
    expect(isProcessAlive(pid1)).toBe(false);
    expect(first.logs).toContain("embedded MariaDB stopped");
    expect(existsSync(join(dataDir, "spider-storage.lock"))).toBe(false);
    expect(existsSync(defaultSocketDir(realpathSync(dataDir)))).toBe(false);

    const second = await serve(dataDir);
    expect(await second.waitServing()).toBeGreaterThan(s1);
    expect((await second.stop()).code).toBe(0);
  });

  it("adopts the mariadbd orphaned by a SIGKILLed server, refuses a second server on the directory, and stops the adopted one", async () => {
    const killed = await serve(dataDir);
    const s1 = await killed.waitServing();
    await killed.kill();
    const orphan = mariadbPid(dataDir)!;
    expect(isProcessAlive(orphan)).toBe(true);

    const adopter = await serve(dataDir);
    const s2 = await adopter.waitServing();
    expect(s2).toBeGreaterThan(s1);
    expect(adopter.logs).toContain("adopting the mariadbd left running by a previous spider-storage");
    expect(mariadbPid(dataDir)).toBe(orphan);

    const intruder = await serve(dataDir);
    const exit = await intruder.exited;
    expect(exit.code).toBe(1);
    expect(intruder.logs).toContain(
      `data directory ${realpathSync(dataDir)} is in use by another spider-storage (pid ${adopter.child.pid}): two servers cannot share a data directory`,
    );
    expect(await adopter.waitServing()).toBe(s2);

    expect((await adopter.stop()).code).toBe(0);
    expect(isProcessAlive(orphan)).toBe(false);
  });

  it("exits 1 with the install message when mariadbd is not installed", async () => {
    const emptyBin = join(root, "empty-bin");
    mkdirSync(emptyBin, { recursive: true });
    const server = await serve(newDataDir("nomariadb"), { SPIDER_STORAGE_RUNTIME__EMBEDDED__BIN_DIR: emptyBin });
    const exit = await server.exited;
    expect(exit.code).toBe(1);
    expect(server.logs).toContain("install the Debian/Ubuntu package mariadb-server (or pass --database-url)");
  });
});

describe("openDataDirDatabase", () => {
  it("serves the spider database over its socket, locks the directory, and ignores a pid file naming another program", async () => {
    const dataDir = newDataDir("inproc");
    const db = await openDataDirDatabase(dataDir, { createDatabase: createDatabaseIfMissing });
    try {
      expect(db.adopted).toBe(false);
      expect(db.url).toMatch(/^mysql:\/\/root@localhost\/spider\?socket=/);
      const connection = await createConnection(poolOptionsFromUrl(db.url));
      const [rows] = await connection.query("SELECT DATABASE() AS db, @@skip_networking AS offline");
      await connection.end();
      expect(rows).toEqual([{ db: "spider", offline: 1 }]);
      await expect(openDataDirDatabase(dataDir, { createDatabase: createDatabaseIfMissing })).rejects.toBeInstanceOf(DataDirLockedError);
    } finally {
      await db.stop();
    }
    // A stale pid file whose pid now belongs to another program (here: this test) is not an orphan.
    writeFileSync(join(dataDir, "mariadb", "mariadbd.pid"), `${process.pid}\n`);
    const again = await openDataDirDatabase(dataDir, { createDatabase: createDatabaseIfMissing });
    try {
      expect(again.adopted).toBe(false);
      expect(again.mariadbPid).not.toBe(process.pid);
    } finally {
      await again.stop();
    }
  });
});
