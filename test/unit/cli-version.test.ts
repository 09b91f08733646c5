import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { CLI_MAIN, REPO_ROOT } from "../../testkit/server-process.ts";

const run = promisify(execFile);

// Vitest accepts TypeScript that Node's type stripping refuses (enums,
// parameter properties): only a real `node` run proves the code is erasable.
describe("the CLI under Node's own type stripping", () => {
  it("prints the package version", async () => {
    const { stdout } = await run(process.execPath, [CLI_MAIN, "--version"], { cwd: REPO_ROOT });
    expect(stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it("exits 2 on a usage error", async () => {
    const error = await run(process.execPath, [CLI_MAIN, "--no-such-flag"], { cwd: REPO_ROOT }).catch((e: unknown) => e);
    expect((error as { code: number }).code).toBe(2);
  });

  it("loads every module of the server without a syntax Node refuses", async () => {
    const { stdout } = await run(process.execPath, [CLI_MAIN, "serve", "--help"], { cwd: REPO_ROOT });
    expect(stdout).toContain("--database-url");
  });
});
