/**
 * The program turns off V8's allocation-site pretenuring before it loads
 * anything else (src/cli/v8-heap-flags.js), unless its command line chose
 * either way; both entries import it right after the Node version check.
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

  it.each(["src/cli/spider-storage.js", "src/cli/main.ts"])("is imported by %s right after the Node version check, before anything that allocates", (entry) => {
    const imports = readFileSync(new URL(`../../../${entry}`, import.meta.url), "utf8")
      .split("\n")
      .filter((line) => /^import\b/.test(line))
      .map((line) => /["']([^"']+)["']/.exec(line)?.[1]);
    const check = imports.indexOf("./require-node-24.js");
    expect(check).toBeGreaterThanOrEqual(0);
    expect(imports[check + 1]).toBe("./v8-heap-flags.js");
    // Only node: built-ins may come before it.
    expect(imports.slice(0, check).every((spec) => spec?.startsWith("node:"))).toBe(true);
  });
});
