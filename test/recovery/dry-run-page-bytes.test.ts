/**
 * The recovery dry run pages as restart recovery does, by rows AND bytes
 * (runtime.recovery.page_bytes, test/recovery/page-bytes.test.ts): a dry run
 * must not hold more memory than the recovery it predicts. A job larger than
 * the budget is still read, alone.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recoveryDryRun } from "../../src/admin/recovery-dry-run.ts";
import { DEFAULT_SUBMISSION_LIMITS } from "../../src/core/job-submission.ts";
import { singleTask } from "../../testkit/sim/job-shapes.ts";
import { insertJobs, migratedDatabase, seedResourceGroup, type MigratedDatabase } from "./helpers/recovery-fixture.ts";

describe("recovery dry run page bytes", () => {
  let database: MigratedDatabase;
  beforeAll(async () => {
    database = await migratedDatabase("dry_run_page_bytes");
  });
  afterAll(async () => {
    await database?.db.destroy();
  });

  it("reads no page over the byte budget, except a single job larger than it", async () => {
    const { db } = database;
    const rg = await seedResourceGroup(db);
    // Random bytes: zstd cannot shrink them, so each row's blobs are about the input's size.
    const spec = (size: number, commit = false) => ({ ...singleTask({ seed: size, commit }), inputs: [randomBytes(size)] });
    const sizes = [100_000, 100_000, 100_000, 300_000, 100_000, 100_000, 100_000];
    const running = await insertJobs(db, rg, sizes.map((size) => ({ state: "Running" as const, spec: spec(size) })));
    const commitReady = await insertJobs(db, rg, [100_000, 100_000, 100_000].map((size) => ({ state: "CommitReady" as const, spec: spec(size, true) })));

    const budget = 250_000;
    const pages: { rows: number; bytes: number }[] = [];
    const report = await recoveryDryRun(db, {
      pageSize: 500,
      pageBytes: budget,
      limits: DEFAULT_SUBMISSION_LIMITS,
      onPage: (rows, bytes) => pages.push({ rows, bytes }),
    });

    expect(report.wouldCache.Running).toBe(running.length);
    expect(report.wouldCache.CommitReady).toBe(commitReady.length);
    expect(report.quarantined).toBe(0);
    expect(pages.reduce((sum, page) => sum + page.rows, 0)).toBe(running.length + commitReady.length);
    expect(report.pages).toBe(pages.length);
    for (const page of pages) {
      if (page.rows > 1) expect(page.bytes, JSON.stringify(pages)).toBeLessThanOrEqual(budget);
    }
    // The 300 kB job came alone; the others at most two to a page.
    expect(pages.some((page) => page.rows === 1 && page.bytes > budget)).toBe(true);
    expect(Math.max(...pages.map((page) => page.rows))).toBe(2);
  });
});
