/**
 * A multi-host database URL on a real 3-node Galera cluster (issue 19 point
 * 3; testkit/galera.ts): the node choice reads Galera's own state.
 *
 * - a Desynced node is skipped, and one that desyncs while in use is left;
 * - the current node SIGKILLed: the pool moves to the next;
 * - a node cut off from the primary component (wsrep_ready = OFF) answers the
 *   probe (SHOW is allowed there) and is refused; with no usable node the pool
 *   fails as in an outage, and serves again once the component is whole.
 */
import { Writable } from "node:stream";
import { sql } from "kysely";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "../../src/db/connection.ts";
import { DatabaseNodes, NO_USABLE_NODE_MESSAGE, type NodeMove } from "../../src/db/database-nodes.ts";
import { classifyDbError } from "../../src/db/db-errors.ts";
import { startGaleraCluster, type GaleraCluster } from "../../testkit/galera.ts";
import { waitFor } from "../../testkit/wait-for.ts";

async function portOf(db: Db): Promise<number> {
  const { rows } = await sql<{ port: number }>`SELECT @@port AS port`.execute(db);
  return Number(rows[0]!.port);
}

async function setDesync(cluster: GaleraCluster, index: number, on: boolean): Promise<void> {
  const db = createDb({ url: `${cluster.url(index)}mysql`, maxConnections: 1 });
  try {
    await sql.raw(`SET GLOBAL wsrep_desync = ${on ? "ON" : "OFF"}`).execute(db);
  } finally {
    await db.destroy();
  }
}

/** A logger whose warnings the test can read. */
function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: "warn" }, stream), lines };
}

describe("a multi-host URL on a Galera cluster", () => {
  let cluster: GaleraCluster;
  let url: string;

  beforeAll(async () => {
    cluster = await startGaleraCluster();
    url = await cluster.createDatabase("spider");
  }, 240_000);
  afterAll(() => cluster?.stop());

  it("skips a Desynced node, and leaves the current node when it desyncs", async () => {
    const [n1, n2, n3] = cluster.nodes.map((node) => node.port);
    await setDesync(cluster, 0, true);
    const moves: NodeMove[] = [];
    const nodes = new DatabaseNodes(url, { onMove: (move) => moves.push(move), checkIntervalMs: 100 });
    const db = createDb({ url, nodes, maxConnections: 2 });
    try {
      expect(await portOf(db)).toBe(n2);
      await setDesync(cluster, 0, false);
      await setDesync(cluster, 1, true);
      await waitFor("the pool to leave the desynced node 2", async () => (await portOf(db)) === n3, { timeoutMs: 10_000 });
      expect(moves).toMatchObject([
        { from: { port: n1 }, to: { port: n2 }, reason: "unusable" },
        { from: { port: n2 }, to: { port: n3 }, reason: "unusable" },
      ]);
    } finally {
      await db.destroy();
      await setDesync(cluster, 1, false);
    }
  });

  it("moves on when the current node is SIGKILLed, and refuses a node outside the primary component", async () => {
    const [n1, n2, n3] = cluster.nodes;
    const { logger, lines } = capturingLogger();
    const moves: NodeMove[] = [];
    const nodes = new DatabaseNodes(url, { logger, onMove: (move) => moves.push(move), checkIntervalMs: 100, connectTimeoutMs: 1_000 });
    const db = createDb({ url, nodes, maxConnections: 2 });
    try {
      expect(await portOf(db)).toBe(n1!.port);
      await n1!.kill("SIGKILL");
      await waitFor("the pool to move to node 2", async () => (await portOf(db).catch(() => 0)) === n2!.port, { timeoutMs: 15_000 });
      expect(moves[0]).toMatchObject({ from: { port: n1!.port }, to: { port: n2!.port }, reason: "unreachable" });

      // Node 3 frozen: node 2 is left alone, one of two, outside the primary component.
      await n3!.kill("SIGSTOP");
      try {
        await waitFor("node 2 to be found unusable", () => lines.some((l) => l["msg"] === NO_USABLE_NODE_MESSAGE), { timeoutMs: 20_000 });
        const report = lines.find((l) => l["msg"] === NO_USABLE_NODE_MESSAGE)!["nodes"] as { node: string; reason: string }[];
        expect(report.find((r) => r.node === `127.0.0.1:${n2!.port}`)?.reason).toMatch(/wsrep_ready = OFF|wsrep_local_state_comment/);
        const error = await portOf(db).then(
          () => undefined,
          (caught: unknown) => caught,
        );
        expect(classifyDbError(error)).toBe("not_connected");
      } finally {
        await n3!.kill("SIGCONT");
      }
      await waitFor("the pool to serve again", async () => (await portOf(db).catch(() => 0)) !== 0, { timeoutMs: 30_000 });
    } finally {
      await db.destroy();
    }
  });
});
