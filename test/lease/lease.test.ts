/** The single-writer lease (DECISIONS D3) on a real MariaDB, in process. */
import { createConnection } from "mysql2/promise";
import { pino } from "pino";
import { Writable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { acquireLease, leaseName, LeaseHeldError, STANDBY_MESSAGE, type Lease } from "../../src/db/lease.ts";
import { poolOptionsFromUrl } from "../../src/db/connection.ts";
import { testDatabase } from "../../testkit/test-database.ts";
import { waitFor } from "../../testkit/wait-for.ts";

/** A logger whose lines the test can read. */
function captureLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString().split("\n").filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  return { logger: pino({ level: "debug" }, stream), lines };
}

async function killConnection(url: string, id: number): Promise<void> {
  const admin = await createConnection(poolOptionsFromUrl(url));
  try {
    await admin.query(`KILL ${id}`);
  } finally {
    await admin.end();
  }
}

describe("acquireLease", () => {
  let url: string;
  const held: Lease[] = [];
  beforeAll(async () => {
    url = await testDatabase("lease");
  });
  afterAll(async () => {
    await Promise.all(held.map((l) => l.release()));
  });

  it("names the lock after the database, hashing names over 64 characters", () => {
    expect(leaseName("spider")).toBe("spider-storage:spider");
    expect(leaseName("x".repeat(64))).toMatch(/^spider-storage:[0-9a-f]{40}$/);
  });

  it("makes a second taker wait as a standby, announcing it once, until the holder releases", async () => {
    const { logger, lines } = captureLogger();
    const first = await acquireLease(url, { logger });
    let waiting = 0;
    let secondLease: Lease | undefined;
    const second = acquireLease(url, { logger, onWaiting: () => waiting++, waitSliceSec: 1 }).then((l) => (secondLease = l));
    await waitFor("the standby to announce itself", () => waiting > 0);
    await sleep(2_500); // a lower bound: two or more 1 s wait slices pass, and must not announce again
    expect(secondLease).toBeUndefined();
    expect(waiting).toBe(1);
    expect(lines.filter((l) => l["msg"] === STANDBY_MESSAGE)).toHaveLength(1);
    expect(lines.find((l) => l["msg"] === STANDBY_MESSAGE)?.["holderConnection"]).toBe(first.connectionId);
    await first.release();
    const lease = await second;
    held.push(lease);
    expect(lease.connectionId).not.toBe(first.connectionId);
    expect(lines.some((l) => l["msg"] === "database lease taken over: no longer standby")).toBe(true);
    await lease.release();
  });

  it("does not conflict across two databases of one server", async () => {
    const other = await testDatabase("lease");
    const { logger } = captureLogger();
    const a = await acquireLease(url, { logger, wait: false });
    const b = await acquireLease(other, { logger, wait: false });
    expect(a.name).not.toBe(b.name);
    await a.release();
    await b.release();
  });

  it("refuses at once with wait: false while another holds it", async () => {
    const { logger } = captureLogger();
    const first = await acquireLease(url, { logger });
    try {
      await expect(acquireLease(url, { logger, wait: false })).rejects.toBeInstanceOf(LeaseHeldError);
    } finally {
      await first.release();
    }
  });

  it("stops waiting when aborted", async () => {
    const { logger } = captureLogger();
    const first = await acquireLease(url, { logger });
    try {
      const controller = new AbortController();
      // A 2-minute wait slice: were the abort ignored, the taker would wait it out and the test would time out.
      const waiting = acquireLease(url, { logger, signal: controller.signal, waitSliceSec: 120 });
      await sleep(300); // most likely inside its first GET_LOCK by now; an abort before it must stop it too
      controller.abort(new Error("stopping"));
      await expect(waiting).rejects.toThrow("stopping");
    } finally {
      await first.release();
    }
  });

  it("reports the lease lost when its connection dies, and a standby then takes it", async () => {
    const { logger } = captureLogger();
    const first = await acquireLease(url, { logger, checkIntervalMs: 200 });
    const lost = new Promise<Error>((resolve) => first.onLost(resolve));
    const standby = acquireLease(url, { logger, waitSliceSec: 1 });
    await killConnection(url, first.connectionId);
    const error = await lost;
    expect(error.message).toMatch(/lease/);
    const second = await standby;
    expect(second.connectionId).not.toBe(first.connectionId);
    // Late registration still hears about the loss; release after loss is harmless.
    const late = await new Promise<Error>((resolve) => first.onLost(resolve));
    expect(late).toBe(error);
    await first.release();
    await second.release();
  });

  it("does not report a loss after release", async () => {
    const { logger } = captureLogger();
    const lease = await acquireLease(url, { logger, checkIntervalMs: 50 });
    let lost = false;
    lease.onLost(() => (lost = true));
    // A control lease on another database, lost for real after the release: once its loss is heard, the released one's would have been.
    const control = await acquireLease(await testDatabase("lease"), { logger, checkIntervalMs: 50 });
    const controlLost = new Promise<Error>((resolve) => control.onLost(resolve));
    await lease.release();
    await killConnection(url, control.connectionId);
    expect((await controlLost).message).toMatch(/lease/);
    expect(lost).toBe(false);
    await control.release();
  });
});
