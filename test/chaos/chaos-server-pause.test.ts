/**
 * Found by the chaos run (issue 21; `npm run chaos -- --seed 777
 * --server-kills 60 --database-kills 15 --pauses 10 --leader-failovers 3
 * --galera-node-kills 2 --fuzz-cases 0` reported "dead execution managers:
 * 2"): a server process paused (SIGSTOP — as a VM freeze or a long GC pause
 * would) for longer than the dead-execution-manager cut-off declared the
 * execution managers dead as soon as it ran again, although they had
 * heartbeated all along. Their heartbeats sat unread in its sockets; the
 * late reap timer fired first, in the same turn of the event loop, and its
 * sweep saw only heartbeats older than the cut-off. Spider's execution
 * manager exits when told it is dead, so one long pause would have taken
 * the whole fleet down.
 *
 * The minimal scenario: one server (cut-off 4 s), four heartbeating
 * execution managers, three SIGSTOPs of 5.4 s each. Fixed in
 * src/instances/task-instance-pool.ts: a reap tick that comes late means the
 * process did not run, which restarts the grace like an outage (D6).
 */
import { setTimeout as sleep } from "node:timers/promises";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "../../src/db/connection.ts";
import { freePort } from "../../testkit/free-port.ts";
import { startMariaDb, type PrivateMariaDb } from "../../testkit/mariadb.ts";
import { SimulatedCluster } from "../../testkit/sim/cluster.ts";
import { freezeProcess } from "../../chaos/process-signals.ts";
import { chaosServerEnv } from "../../chaos/server-env.ts";
import { ServerSeat } from "../../chaos/server-seat.ts";
import { TIMEOUTS } from "../../chaos/fault-plan.ts";

describe("chaos finding: a server paused past the dead-manager cut-off", () => {
  let mariadb: PrivateMariaDb;
  let seat: ServerSeat;
  let db: Db;
  let sim: SimulatedCluster | undefined;

  beforeAll(async () => {
    mariadb = await startMariaDb({ durable: true });
    const url = await mariadb.createDatabase("chaos_pause");
    seat = new ServerSeat("paused", await freePort(), url, chaosServerEnv("chaos-pause"));
    db = createDb({ url, maxConnections: 2 });
  }, 60_000);

  afterAll(async () => {
    await sim?.stop();
    await seat?.stop();
    await db?.destroy();
    await mariadb?.destroy();
  });

  it("declares no execution manager dead when it runs again", { timeout: 90_000 }, async () => {
    await seat.start();
    await seat.current!.server.waitServing();
    sim = await new SimulatedCluster(seat.address, { executionManagers: 4, heartbeatMs: 200 }).start();
    await sleep(TIMEOUTS.staleCutoffSec * 1_000 + 1_500); // past the start-up grace
    const pauseMs = TIMEOUTS.staleCutoffSec * 1_000 + 1_400;
    for (let round = 0; round < 3; round++) {
      const thaw = await freezeProcess(seat.pid);
      await sleep(pauseMs);
      thaw();
      await sleep(TIMEOUTS.staleCutoffSec * 1_000 + 1_500); // a full cut-off after the thaw
      const dead = await sql<{ n: number }>`SELECT COUNT(*) AS n FROM execution_managers WHERE state = 'Dead'`.execute(db);
      expect({ round, dead: Number(dead.rows[0]!.n), told: sim.executionManagers.filter((em) => em.dead).length }).toEqual({ round, dead: 0, told: 0 });
    }
    expect(seat.crashes).toEqual([]);
  });
});
