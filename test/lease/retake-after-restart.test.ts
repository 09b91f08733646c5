/**
 * Retaking the lease after a database restart (issue 16 C). MariaDB numbers
 * connections from 1 again after a restart, so the connection id our lost
 * lease had can belong to another server's fresh lease connection: retakeLease
 * must treat that holder as another server (LeaseHeldError), never KILL it.
 * On a private mariadbd that this file restarts (DECISIONS D13).
 */
import { createConnection } from "mysql2/promise";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { poolOptionsFromUrl } from "../../src/db/connection.ts";
import { acquireLease, LeaseHeldError, retakeLease, type Lease } from "../../src/db/lease.ts";
import { startMariaDb, type PrivateMariaDb } from "../../testkit/mariadb.ts";
import { leaseHolder } from "../outage/outage-helpers.ts";

const logger = pino({ level: "silent" });

async function openAndClose(url: string, times: number): Promise<void> {
  for (let i = 0; i < times; i++) (await createConnection(poolOptionsFromUrl(url))).destroy();
}

describe("retakeLease after a database restart", () => {
  let mariadb: PrivateMariaDb;
  beforeAll(async () => {
    mariadb = await startMariaDb();
  });
  afterAll(async () => {
    await mariadb?.destroy();
  });

  it("never kills another server's lease connection that got our lost lease's connection id", async () => {
    const url = await mariadb.createDatabase("retake_restart");
    // Our lease's connection id: high enough that the restarted server reaches it again.
    await openAndClose(url, 10);
    const lost = await acquireLease(url, { logger });
    const lostError = new Promise<Error>((resolve) => lost.onLost(resolve));
    await mariadb.restart();
    await lostError;

    // After the restart a standby takes the free lease on a connection with that very id.
    let other: Lease | undefined;
    for (let attempt = 0; attempt < 100 && other === undefined; attempt++) {
      const lease = await acquireLease(url, { logger, wait: false });
      if (lease.connectionId === lost.connectionId) other = lease;
      else await lease.release();
      if (lease.connectionId > lost.connectionId) break;
    }
    if (other === undefined) throw new Error(`no lease connection got id ${lost.connectionId} after the restart`);

    try {
      const retaking = retakeLease(url, { logger, previous: lost });
      await expect(retaking).rejects.toBeInstanceOf(LeaseHeldError);
      // The standby's lease is untouched.
      expect(await leaseHolder(url)).toBe(other.connectionId);
      expect(await other.db.selectNoFrom((eb) => eb.lit(42).as("n")).executeTakeFirst()).toEqual({ n: 42 });
    } finally {
      await other.release();
    }
  });
});
