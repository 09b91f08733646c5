/**
 * Recovery while rows still change under it (issue 16): the pool fence stops
 * only new connections, so a transaction of the previous lease holder can
 * commit while a new leader recovers. A job then moves between the state
 * pages: seen twice (Running → CommitReady), missed (Ready → Running after the
 * Running pages), or ended (Running → Failed). Recovery must neither abort nor
 * miss one: the cache ends equal to the database.
 */
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MariaDbJobStore } from "../../src/db/mariadb-job-store.ts";
import { encodeTaskOutputs } from "../../src/core/task-outputs.ts";
import { silentLogger } from "../../src/observability/logger.ts";
import { recoverJobs } from "../../src/recovery/recover-jobs.ts";
import type { RecoverableState } from "../../src/recovery/recovery-report.ts";
import { Harness } from "../engine/helpers/harness.ts";
import { expectedJobOutputs } from "../../testkit/sim/oracle.ts";
import { singleTask } from "../../testkit/sim/job-shapes.ts";
import { insertJobs, migratedDatabase, seedResourceGroup, type MigratedDatabase } from "./helpers/recovery-fixture.ts";

describe("recovery with a concurrent writer", () => {
  let database: MigratedDatabase;
  beforeAll(async () => {
    database = await migratedDatabase("recovery_writer");
  });
  afterAll(async () => {
    await database?.db.destroy();
  });

  it("keeps the newer row of a job seen twice, loads a job it missed and drops one that ended", async () => {
    const { db } = database;
    const rg = await seedResourceGroup(db);
    const withCommit = singleTask({ seed: 1, commit: true });
    const plain = singleTask({ seed: 2 });
    // Enough Running jobs for several pages; A, B and C are the ones that move.
    const fillers = await insertJobs(db, rg, Array.from({ length: 7 }, () => ({ state: "Running" as const, spec: plain })));
    const [a, c] = await insertJobs(db, rg, [
      { state: "Running", spec: withCommit },
      { state: "Running", spec: plain },
    ]);
    const [committing] = await insertJobs(db, rg, [{ state: "CommitReady", spec: withCommit }]);
    const [b] = await insertJobs(db, rg, [{ state: "Ready", spec: plain }]);

    const h = new Harness(new MariaDbJobStore(db), { ready: false });
    const outputs = Buffer.from(encodeTaskOutputs(expectedJobOutputs(withCommit.builder.build(), withCommit.inputs)));
    const report = await recoverJobs({
      db,
      sink: { fill: h.service.engine },
      pageSize: 3,
      logger: silentLogger(),
      // The previous holder's in-flight writes land after the Running pages were read.
      beforeState: async (state: RecoverableState) => {
        if (state !== "CommitReady") return;
        await sql`UPDATE jobs SET state = 'CommitReady', serialized_job_outputs = ${outputs} WHERE id = ${a}`.execute(db);
        await sql`UPDATE jobs SET state = 'Running' WHERE id = ${b}`.execute(db);
        await sql`UPDATE jobs SET state = 'Failed', error_message = 'failed elsewhere' WHERE id = ${c}`.execute(db);
      },
    });

    const cache = h.service.cache;
    expect(cache.get(a!)?.state).toBe("CommitReady");
    expect(cache.get(b!)?.state).toBe("Running");
    expect(cache.get(c!)).toBeUndefined();
    expect(cache.get(committing!)?.state).toBe("CommitReady");
    for (const id of fillers) expect(cache.get(id)?.state).toBe("Running");
    expect(report.movedDuringRecovery).toBe(3);
    expect(report.cached).toMatchObject({ Running: 8, CommitReady: 2 });
    await h.close();
  });
});
