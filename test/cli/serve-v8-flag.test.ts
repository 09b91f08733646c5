/**
 * `serve` turns V8's allocation-site pretenuring off once the server's
 * modules are loaded (src/cli/v8-heap-flags.js), not first thing: a V8 flag
 * set makes Node refuse its own code cache for every built-in module loaded
 * afterwards, which are then compiled from source. A real server process,
 * its flag and the built-ins loaded by then recorded by a preloaded hook; at
 * SERVING none of Node's public modules has been loaded since.
 */
import { readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { ServerProcess } from "../../testkit/server-process.ts";
import { testDatabase } from "../../testkit/test-database.ts";
import { waitFor } from "../../testkit/wait-for.ts";

const HOOK = fileURLToPath(new URL("./fixtures/record-v8-flags.js", import.meta.url));

type Line = { flags: string; builtins: string[] } | { now: string[] };

async function lines(log: string): Promise<Line[]> {
  const text = await readFile(log, "utf8").catch(() => "");
  return text.split("\n").filter(Boolean).map((line) => JSON.parse(line) as Line);
}

describe("serve's V8 flag", () => {
  const log = join(tmpdir(), `spider-v8-flag-${process.pid}.log`);
  let server: ServerProcess | undefined;
  afterAll(async () => {
    await server?.kill();
    await rm(log, { force: true });
  });

  it("is set once, after the built-ins the server needs up to SERVING are loaded", async () => {
    server = await ServerProcess.start({
      databaseUrl: await testDatabase("v8_flag"),
      // The console starts once serving: off, so that the snapshot after SERVING holds only what serving loaded.
      env: { NODE_OPTIONS: `--import ${HOOK}`, SPIDER_TEST_V8_FLAG_LOG: log, SPIDER_STORAGE_RUNTIME__CONSOLE__ENABLED: "false" },
    });
    await server.waitServing();
    server.child.kill("SIGUSR2");
    const recorded = await waitFor("the hook's SIGUSR2 line", async () => {
      const all = await lines(log);
      return all.some((line) => "now" in line) ? all : undefined;
    });
    const set = recorded.filter((line): line is { flags: string; builtins: string[] } => "flags" in line);
    expect(set.map((line) => line.flags)).toEqual(["--no-allocation-site-pretenuring"]);
    const atFlag = new Set(set[0]!.builtins);
    const atServing = recorded.find((line): line is { now: string[] } => "now" in line)!.now;
    // The server's own built-ins (gRPC over node:http2) are among those loaded before the flag.
    expect(atFlag.has("NativeModule http2")).toBe(true);
    // Node's public modules (http2, zlib, crypto…), the ones the server imports; a tiny internal
    // helper may still come later (from the sources, import.meta's first use in a lazily loaded module).
    const publicAfterFlag = atServing.filter((entry) => !atFlag.has(entry) && !entry.startsWith("NativeModule internal/"));
    expect(publicAfterFlag).toEqual([]);
  });
});
