/**
 * The serve command turns off V8's allocation-site pretenuring
 * (src/cli/v8-heap-flags.js) once the server's modules are loaded and before
 * the server starts answering, unless the command line chose either way.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { pretenuringFlag } from "../../../src/cli/v8-heap-flags.js";

describe("V8 heap flags", () => {
  it("turns pretenuring off by default", () => {
    expect(pretenuringFlag([])).toBe("--no-allocation-site-pretenuring");
    expect(pretenuringFlag(["--max-old-space-size=4096", "--enable-source-maps"])).toBe("--no-allocation-site-pretenuring");
  });

  it("leaves it to a command line that chose", () => {
    for (const chosen of ["--allocation-site-pretenuring", "--no-allocation-site-pretenuring", "--allocation_site_pretenuring", "--no-allocation_site_pretenuring"]) {
      expect(pretenuringFlag(["--max-old-space-size=4096", chosen])).toBeUndefined();
    }
  });

  it("is set by serve after the server's modules are loaded and before it starts, and by no entry", () => {
    const serve = readFileSync(new URL("../../../src/cli/commands/serve.ts", import.meta.url), "utf8");
    const loaded = serve.indexOf("new StorageServer(");
    const set = serve.indexOf("turnOffPretenuring();");
    const started = serve.indexOf("await server.start();");
    expect(loaded).toBeGreaterThan(0);
    expect(set).toBeGreaterThan(loaded);
    expect(started).toBeGreaterThan(set);
    // Set first thing, it would make Node refuse its own code cache for every built-in loaded after.
    for (const entry of ["src/cli/spider-storage.js", "src/cli/main.ts"]) {
      expect(readFileSync(new URL(`../../../${entry}`, import.meta.url), "utf8")).not.toContain("v8-heap-flags");
    }
  });
});
