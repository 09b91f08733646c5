/**
 * Recovery pages are bounded by bytes as well as rows (issue 16,
 * runtime.recovery.page_bytes): 500 rows of 4 MiB inputs would otherwise be
 * 2 GiB a page, times the pages read ahead. A job larger than the budget is
 * still read, alone.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MariaDbJobStore } from "../../src/db/mariadb-job-store.ts";
import { silentLogger } from "../../src/observability/logger.ts";
import { recoverJobs } from "../../src/recovery/recover-jobs.ts";
import { Harness } from "../engine/helpers/harness.ts";
import { singleTask } from "../../testkit/sim/job-shapes.ts";
import { insertJobs, migratedDatabase, seedResourceGroup, type MigratedDatabase } from "./helpers/recovery-fixture.ts";

describe("recovery page bytes", () => {
  let database: MigratedDatabase;
  beforeAll(async () => {
    database = await migratedDatabase("recovery_page_bytes");
  });
  afterAll(async () => {
    await database?.db.destroy();
  });

  it("reads no page over the byte budget, except a single job larger than it", async () => {
    const { db } = database;
    const rg = await seedResourceGroup(db);
    // Random bytes: zstd cannot shrink them, so each row's blobs are about the input's size.
    const spec = (size: number) => ({ ...singleTask({ seed: size }), inputs: [randomBytes(size)] });
    const sizes = [100_000, 100_000, 100_000, 300_000, 100_000, 100_000, 100_000, 100_000, 100_000, 100_000];
    const ids = await insertJobs(db, rg, sizes.map((size) => ({ state: "Running" as const, spec: spec(size) })));

    const budget = 250_000;
    const pages: { rows: number; bytes: number }[] = [];
    const h = new Harness(new MariaDbJobStore(db), { ready: false });
    const report = await recoverJobs({
      db,
      sink: { fill: h.service.engine },
      pageSize: 500,
      pageBytes: budget,
      readAhead: 2,
      logger: silentLogger(),
      onPage: (rows, bytes) => pages.push({ rows, bytes }),
    });

    expect(report.cached.Running).toBe(ids.length);
    for (const id of ids) expect(h.service.cache.get(id)?.state).toBe("Running");
    expect(pages.reduce((sum, page) => sum + page.rows, 0)).toBe(ids.length);
    for (const page of pages) {
      if (page.rows > 1) expect(page.bytes, JSON.stringify(pages)).toBeLessThanOrEqual(budget);
    }
    // The 300 kB job came alone; the others two to a page.
    expect(pages.some((page) => page.rows === 1 && page.bytes > budget)).toBe(true);
    expect(Math.max(...pages.map((page) => page.rows))).toBe(2);
    await h.close();
  });
});
