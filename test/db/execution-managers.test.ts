import { setTimeout as sleep } from "node:timers/promises";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StorageError } from "../../src/core/errors.ts";
import type { Db } from "../../src/db/connection.ts";
import { heartbeatExecutionManager } from "../../src/db/execution-managers/heartbeatExecutionManager.ts";
import { isExecutionManagerAlive } from "../../src/db/execution-managers/isExecutionManagerAlive.ts";
import { listExecutionManagers } from "../../src/db/execution-managers/listExecutionManagers.ts";
import { markExecutionManagerDead } from "../../src/db/execution-managers/markExecutionManagerDead.ts";
import { reapDeadExecutionManagers } from "../../src/db/execution-managers/reapDeadExecutionManagers.ts";
import { registerExecutionManager } from "../../src/db/execution-managers/registerExecutionManager.ts";
import { addRetryListener } from "../../src/db/retry-policy.ts";
import { migratedDb } from "./db-fixture.ts";
import { expectStorageError } from "./expect-storage-error.ts";

const UNKNOWN = 424_242n;
/** Stale cut-off for these tests; TIMESTAMP(3) makes sub-second cut-offs meaningful. */
const STALE_MS = 150;
const PAST_STALE_MS = STALE_MS + 100;

describe("execution managers", () => {
  let db: Db;
  beforeAll(async () => {
    ({ db } = await migratedDb("em", 24));
  });
  afterAll(async () => {
    await db?.destroy();
  });

  it("test_register_execution_manager and test_is_execution_manager_alive_em_alive", async () => {
    const id = await registerExecutionManager(db, "10.1.2.3");
    expect(await isExecutionManagerAlive(db, id)).toBe(true);
    const row = (await listExecutionManagers(db)).find((em) => em.id === id)!;
    expect(row).toMatchObject({ ipAddress: "10.1.2.3", state: "Alive", deathConfirmedAt: null });
    // Stored as the right instant: a time-zone mistake would be 30 min or more off (a loose bound, not a deadline).
    expect(Math.abs(row.lastHeartbeatAt.getTime() - Date.now())).toBeLessThan(10 * 60_000);
    await registerExecutionManager(db, "fe80:0000:0000:0000:0204:61ff:fe9d:f156");
    await expectStorageError(registerExecutionManager(db, "x".repeat(46)), "invalid_argument");
  });

  it("test_update_execution_manager_heartbeat: moves the heartbeat forward, twice in a row too", async () => {
    const id = await registerExecutionManager(db, "0.0.0.0");
    const before = (await listExecutionManagers(db)).find((em) => em.id === id)!.lastHeartbeatAt;
    await sleep(20);
    await heartbeatExecutionManager(db, id);
    await heartbeatExecutionManager(db, id);
    const after = (await listExecutionManagers(db)).find((em) => em.id === id)!.lastHeartbeatAt;
    expect(after.getTime()).toBeGreaterThan(before.getTime());
  });

  it("test_update_execution_manager_heartbeat_not_found and test_is_execution_manager_alive_em_not_found", async () => {
    await expectStorageError(heartbeatExecutionManager(db, UNKNOWN), "illegal_execution_manager", `execution manager ${UNKNOWN} is illegal`);
    await expectStorageError(isExecutionManagerAlive(db, UNKNOWN), "illegal_execution_manager", `execution manager ${UNKNOWN} is illegal`);
    await expectStorageError(markExecutionManagerDead(db, UNKNOWN), "illegal_execution_manager");
  });

  it("test_get_dead_execution_managers_none_stale", async () => {
    const id = await registerExecutionManager(db, "0.0.0.0");
    expect(await reapDeadExecutionManagers(db, { staleAfterMs: 60_000 })).not.toContain(id);
    expect(await isExecutionManagerAlive(db, id)).toBe(true);
  });

  it("test_get_dead_execution_managers_marks_dead, _atomic, test_update_execution_manager_heartbeat_already_dead, test_is_execution_manager_alive_em_dead", async () => {
    await reapDeadExecutionManagers(db, { staleAfterMs: 0 }); // clear earlier tests' managers
    const id = await registerExecutionManager(db, "0.0.0.0");
    await sleep(PAST_STALE_MS);
    expect(await reapDeadExecutionManagers(db, { staleAfterMs: STALE_MS })).toEqual([id]);
    expect(await reapDeadExecutionManagers(db, { staleAfterMs: STALE_MS })).toEqual([]);
    expect(await isExecutionManagerAlive(db, id)).toBe(false);
    await expectStorageError(heartbeatExecutionManager(db, id), "failed_precondition", `execution manager ${id} is already dead`);
    const row = (await listExecutionManagers(db, { state: "Dead" })).find((em) => em.id === id)!;
    expect(row.deathConfirmedAt).toBeInstanceOf(Date);
    // Dead is forever, whatever happens to the clock.
    expect(await isExecutionManagerAlive(db, id)).toBe(false);
  });

  it("test_get_dead_execution_managers_multiple: all stale ones at once, in id order; a fresh heartbeat saves one", async () => {
    await reapDeadExecutionManagers(db, { staleAfterMs: 0 });
    const ids = [await registerExecutionManager(db, "a"), await registerExecutionManager(db, "b"), await registerExecutionManager(db, "c")];
    const saved = await registerExecutionManager(db, "d");
    // A 1 s cutoff: the saved manager's heartbeat and the sweep, two statements apart, cannot be that far apart.
    const cutoff = 1_000;
    await sleep(cutoff + 100);
    await heartbeatExecutionManager(db, saved);
    expect(await reapDeadExecutionManagers(db, { staleAfterMs: cutoff })).toEqual(ids);
    expect(await isExecutionManagerAlive(db, saved)).toBe(true);
  });

  it("markExecutionManagerDead: an operator's release, true only the first time", async () => {
    const id = await registerExecutionManager(db, "0.0.0.0");
    const silent = await registerExecutionManager(db, "0.0.0.0");
    expect(await markExecutionManagerDead(db, id)).toBe(true);
    expect(await markExecutionManagerDead(db, id)).toBe(false);
    expect(await isExecutionManagerAlive(db, id)).toBe(false);
    await expectStorageError(heartbeatExecutionManager(db, id), "failed_precondition");
    // Already dead: the sweep does not report it again (it does report a manager as silent that was left alive).
    await sleep(PAST_STALE_MS);
    const reaped = await reapDeadExecutionManagers(db, { staleAfterMs: STALE_MS });
    expect(reaped).toContain(silent);
    expect(reaped).not.toContain(id);
  });

  it("ids above 2^63 work", async () => {
    const { db: big } = await migratedDb("embig");
    try {
      await sql`ALTER TABLE execution_managers AUTO_INCREMENT = ${sql.raw((2n ** 64n - 10n).toString())}`.execute(big);
      const id = await registerExecutionManager(big, "0.0.0.0");
      expect(id).toBe(2n ** 64n - 10n);
      await heartbeatExecutionManager(big, id);
      expect(await markExecutionManagerDead(big, id)).toBe(true);
      expect(await isExecutionManagerAlive(big, id)).toBe(false);
    } finally {
      await big.destroy();
    }
  });

  it("test_liveness_operations_no_deadlock_under_concurrency: 10 × 16 heartbeats racing one sweep (spec issue #371)", async () => {
    // Retries would hide a deadlock (withTransaction retries 1213): count them.
    const retries: string[] = [];
    const stopListening = addRetryListener((info) => retries.push(`${info.operation}: ${info.errorClass}`));
    const tally = { ok: 0, alreadyDead: 0 };
    try {
      const concurrent = 16;
      for (let iteration = 0; iteration < 10; iteration++) {
        const ids: bigint[] = [];
        for (let i = 0; i < concurrent; i++) ids.push(await registerExecutionManager(db, "0.0.0.0"));
        await sleep(PAST_STALE_MS);
        const sweep = reapDeadExecutionManagers(db, { staleAfterMs: STALE_MS });
        // Heartbeats spread over the sweep's few milliseconds, so some land
        // before it, some while it holds its locks, some after.
        const heartbeats = ids.map((id, i) =>
          sleep(i % 8)
            .then(() => heartbeatExecutionManager(db, id))
            .then(
              () => "ok" as const,
              (error: unknown) => error,
            ),
        );
        const [reaped, ...outcomes] = await Promise.all([sweep, ...heartbeats]);
        const reapedSet = new Set(reaped as bigint[]);
        outcomes.forEach((outcome, i) => {
          const id = ids[i]!;
          if (outcome === "ok") {
            tally.ok++;
            return;
          }
          // The only acceptable failure: the sweep got there first.
          expect(outcome, `iteration ${iteration}, manager ${id}`).toBeInstanceOf(StorageError);
          expect((outcome as StorageError).message).toBe(`execution manager ${id} is already dead`);
          expect(reapedSet.has(id)).toBe(true);
          tally.alreadyDead++;
        });
        for (const id of ids) expect(await isExecutionManagerAlive(db, id)).toBe(!reapedSet.has(id));
      }
    } finally {
      stopListening();
    }
    console.info(`liveness race: ${tally.ok} heartbeats ok, ${tally.alreadyDead} already dead`);
    expect(tally.ok + tally.alreadyDead).toBe(160);
    expect(retries).toEqual([]);
  });
});
