import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "../../src/db/connection.ts";
import { countCheckpoints } from "./count-checkpoints.ts";
import { readCheckpoints } from "../../src/db/checkpoints/readCheckpoints.ts";
import { writeCheckpoints } from "../../src/db/checkpoints/writeCheckpoints.ts";
import { migratedDb, seedJob, seedResourceGroup } from "./db-fixture.ts";
import { expectStorageError } from "./expect-storage-error.ts";

const frame = (...values: number[]) => Uint8Array.from(values);

describe("task checkpoints", () => {
  let db: Db;
  let rg: bigint;
  beforeAll(async () => {
    ({ db } = await migratedDb("ckpt"));
    rg = await seedResourceGroup(db);
  });
  afterAll(async () => {
    await db?.destroy();
  });

  it("writes a batch across jobs and reads each job's back by task index", async () => {
    const a = await seedJob(db, rg, "Running");
    const b = await seedJob(db, rg, "Running");
    const written = await writeCheckpoints(db, [
      { jobId: a, taskIndex: 2, outputs: frame(2) },
      { jobId: a, taskIndex: 0, outputs: frame(0, 0) },
      { jobId: b, taskIndex: 0, outputs: frame() },
      { jobId: a, taskIndex: 0xffff_ffff, outputs: frame(255) },
    ]);
    expect(written).toBe(4);
    const forA = await readCheckpoints(db, a);
    expect([...forA.keys()]).toEqual([0, 2, 0xffff_ffff]);
    expect([...forA.get(0)!]).toEqual([0, 0]);
    expect([...forA.get(2)!]).toEqual([2]);
    expect([...(await readCheckpoints(db, b)).get(0)!]).toEqual([]);
    expect(await countCheckpoints(db, a)).toBe(3);
    expect(await readCheckpoints(db, 777_777n)).toEqual(new Map());
    expect(await writeCheckpoints(db, [])).toBe(0);
  });

  it("the first write wins: a repeated checkpoint is ignored, not overwritten", async () => {
    const job = await seedJob(db, rg, "Running");
    expect(await writeCheckpoints(db, [{ jobId: job, taskIndex: 1, outputs: frame(1) }])).toBe(1);
    expect(
      await writeCheckpoints(db, [
        { jobId: job, taskIndex: 1, outputs: frame(9, 9) },
        { jobId: job, taskIndex: 2, outputs: frame(2) },
      ]),
    ).toBe(1);
    const read = await readCheckpoints(db, job);
    expect([...read.get(1)!]).toEqual([1]);
    expect([...read.get(2)!]).toEqual([2]);
  });

  it("a checkpoint of a job that no longer exists is dropped, not an error", async () => {
    expect(await writeCheckpoints(db, [{ jobId: 888_888n, taskIndex: 0, outputs: frame(1) }])).toBe(0);
    expect(await readCheckpoints(db, 888_888n)).toEqual(new Map());
  });

  it("large batches are split into several statements in one transaction", async () => {
    const job = await seedJob(db, rg, "Running");
    const big = new Uint8Array(1024 * 1024).fill(7);
    const entries = [
      ...Array.from({ length: 1500 }, (_, taskIndex) => ({ jobId: job, taskIndex, outputs: frame(taskIndex % 256) })),
      ...Array.from({ length: 9 }, (_, i) => ({ jobId: job, taskIndex: 10_000 + i, outputs: big })),
    ];
    expect(await writeCheckpoints(db, entries)).toBe(1509);
    const read = await readCheckpoints(db, job);
    expect(read.size).toBe(1509);
    expect(read.get(10_008)!.byteLength).toBe(big.byteLength);
    expect(Buffer.from(read.get(10_008)!).equals(Buffer.from(big))).toBe(true);
  });

  it("go with their job, and only with theirs", async () => {
    const job = await seedJob(db, rg, "Running");
    const other = await seedJob(db, rg, "Running");
    await writeCheckpoints(db, [
      { jobId: job, taskIndex: 0, outputs: frame(0) },
      { jobId: job, taskIndex: 1, outputs: frame(1) },
      { jobId: other, taskIndex: 0, outputs: frame(0) },
    ]);
    await db.deleteFrom("jobs").where("id", "=", job).execute();
    expect(await countCheckpoints(db, job)).toBe(0);
    expect(await countCheckpoints(db, other)).toBe(1);
  });

  it("refuses task indices outside 0 … 2^32-1", async () => {
    const job = await seedJob(db, rg, "Running");
    for (const taskIndex of [-1, 2 ** 32, 1.5, Number.NaN]) {
      await expectStorageError(writeCheckpoints(db, [{ jobId: job, taskIndex, outputs: frame() }]), "internal", /out of range/);
    }
    expect(await countCheckpoints(db, job)).toBe(0);
  });
});
