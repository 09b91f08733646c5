/**
 * Secrets kept off the command line: an argument shows in /proc/<pid>/cmdline
 * to every local user, so the admin token and the database URL can come from
 * a file (`--token-file`, `--database-url-file`), as they can from the
 * environment (SPIDER_STORAGE_RUNTIME__ADMIN__TOKEN, SPIDER_STORAGE_DATABASE_URL).
 */
import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { createConnection } from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { poolOptionsFromUrl } from "../../src/db/connection.ts";
import { ServerProcess } from "../../testkit/server-process.ts";
import { testDatabase } from "../../testkit/test-database.ts";
import { expectCleanFailure, jsonOf, runCli } from "./cli-helpers.ts";

const TOKEN = "file-borne-admin-token";
const CMDLINE_WARNING = "the database URL on the command line carries a password";

/** A URL of `databaseUrl`'s database for a new user with a password. */
async function urlWithPassword(databaseUrl: string): Promise<string> {
  const user = `h5_${randomBytes(4).toString("hex")}`;
  const password = `pw-${randomBytes(6).toString("hex")}`;
  const url = new URL(databaseUrl);
  const database = url.pathname.slice(1);
  const connection = await createConnection(poolOptionsFromUrl(databaseUrl));
  try {
    await connection.query(`CREATE USER '${user}'@'%' IDENTIFIED BY '${password}'`);
    await connection.query(`GRANT ALL ON \`${database}\`.* TO '${user}'@'%'`);
  } finally {
    await connection.end();
  }
  url.username = user;
  url.password = password;
  return url.toString();
}

describe("secrets from files", () => {
  let dir: string;
  let databaseUrl: string;
  let server: ServerProcess;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "cli-secret-files-"));
    databaseUrl = await urlWithPassword(await testDatabase("cli_secret_files"));
    const urlFile = join(dir, "database-url");
    await writeFile(urlFile, `${databaseUrl}\n`, { mode: 0o600 });
    server = await ServerProcess.start({ args: ["--database-url-file", urlFile], env: { SPIDER_STORAGE_RUNTIME__ADMIN__TOKEN: TOKEN } });
    await server.waitServing();
  });
  afterAll(async () => {
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("serve --database-url-file uses the database in the file and keeps it out of /proc/<pid>/cmdline", async () => {
    const cmdline = readFileSync(`/proc/${server.child.pid}/cmdline`, "utf8").split("\0");
    expect(cmdline).toContain("--database-url-file");
    expect(cmdline.join(" ")).not.toContain(databaseUrl);
    // It serves, so it reached the database the file names.
    expect(server.logs).toContain('"msg":"serving"');
    expect(server.logs).not.toContain(CMDLINE_WARNING);
  });

  it("serve warns when --database-url on the command line carries a password", async () => {
    // Its own database: on the other one it would wait as a standby.
    const exposedUrl = await urlWithPassword(await testDatabase("cli_secret_cmdline"));
    const exposed = await ServerProcess.start({ databaseUrl: exposedUrl, env: { SPIDER_STORAGE_RUNTIME__ADMIN__TOKEN: TOKEN } });
    try {
      await exposed.waitServing();
      expect(exposed.logs).toContain(`${CMDLINE_WARNING} every local user can read in the process list`);
      expect(exposed.logs).not.toContain(new URL(exposedUrl).password);
    } finally {
      await exposed.stop();
    }
  });

  it("--token-file authenticates online commands; a wrong one is refused", async () => {
    const right = join(dir, "token");
    const wrong = join(dir, "wrong-token");
    await writeFile(right, `${TOKEN}\n`, { mode: 0o600 });
    await writeFile(wrong, "not-it", { mode: 0o600 });
    expect(jsonOf(await runCli(["--server", server.address, "--token-file", right, "--json", "status"]))).toMatchObject({ serving: true });
    expectCleanFailure(await runCli(["--server", server.address, "--token-file", wrong, "status"]), 1, /wrong token/);
  });

  it("offline commands take --database-url-file too", async () => {
    const urlFile = join(dir, "offline-database-url");
    await writeFile(urlFile, await testDatabase("cli_secret_files_offline"), { mode: 0o600 });
    const result = await runCli(["--database-url-file", urlFile, "--json", "migrate"]);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout).applied.length).toBeGreaterThan(0);
  });

  it("a missing, empty or doubly given secret is a usage error (exit 2) that names the file, never its contents", async () => {
    const empty = join(dir, "empty");
    await writeFile(empty, "\n");
    const token = join(dir, "token");
    expectCleanFailure(await runCli(["--server", server.address, "--token-file", join(dir, "nope"), "status"]), 2, /--token-file .*nope.*: cannot read/);
    expectCleanFailure(await runCli(["--server", server.address, "--token-file", empty, "status"]), 2, /--token-file .*empty.* is empty/);
    const both = await runCli(["--server", server.address, "--token", "x", "--token-file", token, "status"]);
    expectCleanFailure(both, 2, /--token and --token-file/);
    expect(both.stderr).not.toContain(TOKEN);
    expectCleanFailure(await runCli(["--database-url", "mysql://a@b/c", "--database-url-file", token, "migrate"]), 2, /--database-url and --database-url-file/);
  });
});
