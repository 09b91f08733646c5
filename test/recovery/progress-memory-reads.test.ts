/**
 * Recovery's progress reads the process's memory figures only for a line it
 * writes: `process.memoryUsage()` reads /proc, and per page it was about 2 %
 * of a 100 000-job recovery's CPU samples while the debug line it fed was not
 * written (the default level is info).
 */
import { Writable } from "node:stream";
import { pino } from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { MariaDbJobStore } from "../../src/db/mariadb-job-store.ts";
import { recoverJobs } from "../../src/recovery/recover-jobs.ts";
import { Harness } from "../engine/helpers/harness.ts";
import { singleTask } from "../../testkit/sim/job-shapes.ts";
import { insertJobs, migratedDatabase, seedResourceGroup, type MigratedDatabase } from "./helpers/recovery-fixture.ts";

const JOBS = 10;
const PAGE_SIZE = 2;

describe("recovery progress and memory figures", () => {
  let database: MigratedDatabase;
  beforeAll(async () => {
    database = await migratedDatabase("recovery_progress_memory");
    const rg = await seedResourceGroup(database.db);
    await insertJobs(database.db, rg, Array.from({ length: JOBS }, (_, seed) => ({ state: "Running" as const, spec: singleTask({ seed }) })));
  });
  afterAll(async () => {
    await database?.db.destroy();
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  /** Recovers every job with a logger at `level`; returns how often the memory figures were read, and the pages. */
  async function recoverAt(level: "info" | "debug"): Promise<{ reads: number; pages: number; lines: Record<string, unknown>[] }> {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    });
    const h = new Harness(new MariaDbJobStore(database.db), { ready: false });
    const memoryUsage = vi.spyOn(process, "memoryUsage");
    try {
      const report = await recoverJobs({
        db: database.db,
        sink: { fill: h.service.engine },
        pageSize: PAGE_SIZE,
        readAhead: 1,
        // No progress line by the clock: only the final one is due at info.
        logIntervalMs: 3_600_000,
        logger: pino({ level }, sink),
      });
      expect(report.cached.Running).toBe(JOBS);
      return { reads: memoryUsage.mock.calls.length, pages: report.pages, lines };
    } finally {
      memoryUsage.mockRestore();
      await h.close();
    }
  }

  it("reads them for every page when the debug page lines are written", async () => {
    const { reads, pages, lines } = await recoverAt("debug");
    expect(pages).toBe(JOBS / PAGE_SIZE);
    const pageLines = lines.filter((line) => line["msg"] === "recovery page");
    expect(pageLines).toHaveLength(pages);
    for (const line of pageLines) expect(line["rssBytes"]).toBeGreaterThan(0);
    expect(reads).toBe(pages + 1);
  });

  it("reads them once, for the final line, at info", async () => {
    const { reads, lines } = await recoverAt("info");
    expect(lines.filter((line) => line["msg"] === "recovery page")).toHaveLength(0);
    expect(lines.find((line) => line["msg"] === "recovery finished")?.["rssBytes"]).toBeGreaterThan(0);
    expect(reads).toBe(1);
  });
});
