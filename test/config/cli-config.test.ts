/** The CLI reports invalid configuration as a usage error (exit 2) naming the key. */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CLI_MAIN, REPO_ROOT } from "../../testkit/server-process.ts";

const dir = mkdtempSync(join(tmpdir(), "sscli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [CLI_MAIN, ...args], { cwd: REPO_ROOT, env: { ...process.env, ...env }, encoding: "utf8", timeout: 20_000 });
}

describe("spider-storage configuration errors", () => {
  it("exits 2 naming a bad flag", () => {
    const result = cli(["serve", "--port", "abc"]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('port: expected an integer 0..65535, got "abc" (from --port)');
  });

  it("exits 2 naming every bad key of Spider-style `spider-storage --config PATH`", () => {
    const configPath = join(dir, "storage.yaml");
    writeFileSync(configPath, 'host: "db.example"\nport: 50051\nruntime:\n  db:\n    host: db\n    port: 99999\n    name: x\n    max_connections: 4\n');
    const result = cli(["--config", configPath], { SPIDER_STORAGE_DB_USERNAME: "u", SPIDER_STORAGE_DB_PASSWORD: "p" });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('host: expected an IP address literal (v4 or v6; host names are not accepted, as in Spider), got "db.example"');
    expect(result.stderr).toContain("runtime.db.port: expected an integer 0..65535, got 99999");
  });
});
