/** Every metric the service exports is in the README's metrics table (an undocumented metric is one nobody alerts on). */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { METRIC_NAMES } from "../../src/observability/metrics.ts";

describe("the README's metrics table", () => {
  it("lists every metric of src/observability/metrics.ts", () => {
    const readme = readFileSync(resolve(import.meta.dirname, "../../README.md"), "utf8");
    const missing = Object.values(METRIC_NAMES).filter((name) => !readme.includes(`| \`${name}\` |`));
    expect(missing).toEqual([]);
  });
});
