/**
 * The Galera test harness (testkit/galera.ts, issue 19): three mariadbd on
 * loopback form one cluster, replicate, lose and regain a SIGKILLed node,
 * come back after every node is SIGKILLed, and leave nothing behind.
 */
import { existsSync } from "node:fs";
import { createConnection, type Connection } from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { processesUsing, startGaleraCluster, type GaleraCluster } from "../../testkit/galera.ts";
import { waitFor } from "../../testkit/wait-for.ts";

function connect(url: string): Promise<Connection> {
  const { hostname, port, pathname } = new URL(url);
  return createConnection({ host: hostname, port: Number(port), user: "root", database: pathname.slice(1) || undefined });
}

async function count(url: string): Promise<number> {
  const connection = await connect(url);
  try {
    // Causal read: wait until this node has applied everything committed before.
    await connection.query("SET SESSION wsrep_sync_wait = 1");
    const [rows] = await connection.query("SELECT COUNT(*) AS n FROM harness.t");
    return Number((rows as { n: number }[])[0]!.n);
  } finally {
    await connection.end();
  }
}

async function insert(url: string, value: number): Promise<void> {
  const connection = await connect(url);
  try {
    await connection.query("INSERT INTO harness.t (v) VALUES (?)", [value]);
  } finally {
    await connection.end();
  }
}

describe("Galera test cluster", () => {
  let cluster: GaleraCluster;

  beforeAll(async () => {
    cluster = await startGaleraCluster();
    console.log(`Galera cluster of 3 started in ${cluster.startMs} ms`);
  });
  afterAll(() => cluster?.stop());

  it("forms one primary component of three Synced nodes", async () => {
    for (const node of cluster.nodes) {
      expect(await node.status()).toEqual({ state: "Synced", clusterSize: 3, clusterStatus: "Primary", ready: true });
    }
    expect(cluster.multiHostUrl).toBe(`mysql://root@${cluster.nodes.map((n) => `127.0.0.1:${n.port}`).join(",")}/`);
  });

  it("reads on node 3 a write committed on node 1", async () => {
    const url = await cluster.createDatabase("harness");
    expect(url).toBe(`${cluster.multiHostUrl}harness`);
    const first = await connect(cluster.url(0));
    try {
      await first.query("CREATE TABLE harness.t (id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY, v INT NOT NULL)");
    } finally {
      await first.end();
    }
    await insert(cluster.url(0), 1);
    expect(await count(cluster.url(2))).toBe(1);
  });

  it("drops a SIGKILLed node to two members and takes it back as the third after restart", async () => {
    const [first, , third] = cluster.nodes;
    const pid = third!.pid!;
    await third!.kill("SIGKILL");
    expect(third!.running).toBe(false);
    expect(() => process.kill(pid, 0)).toThrow();
    const left = Date.now();
    await waitFor("the cluster to shrink to 2", async () => (await first!.status()).clusterSize === 2, { timeoutMs: 20_000 });
    console.log(`a SIGKILLed node left the cluster after ${Date.now() - left} ms`);
    await insert(cluster.url(0), 2); // written while node 3 is down: it must catch up
    const rejoin = Date.now();
    await third!.restart();
    await cluster.waitSynced(3);
    console.log(`the node rejoined in ${Date.now() - rejoin} ms`);
    expect(await count(cluster.url(2))).toBe(2);
  });

  it("drops a frozen node (SIGSTOP) and takes it back once thawed (SIGCONT)", async () => {
    const [first, second] = cluster.nodes;
    await second!.kill("SIGSTOP");
    const frozen = Date.now();
    await waitFor("the cluster to shrink to 2", async () => (await first!.status()).clusterSize === 2, { timeoutMs: 20_000 });
    console.log(`a frozen node left the cluster after ${Date.now() - frozen} ms`);
    await second!.kill("SIGCONT");
    const thawed = Date.now();
    await cluster.waitSynced(3);
    console.log(`the thawed node was back in ${Date.now() - thawed} ms`);
  });

  it("comes back, with every committed row, after every node is SIGKILLed", async () => {
    await insert(cluster.url(1), 3);
    await Promise.all(cluster.nodes.map((node) => node.kill("SIGKILL")));
    const recovery = Date.now();
    await cluster.restartAll();
    console.log(`the cluster recovered from a crash of every node in ${Date.now() - recovery} ms`);
    for (const node of cluster.nodes) expect((await node.status()).clusterSize).toBe(3);
    expect(await count(cluster.url(0))).toBe(3);
  });

  it("stop() ends every process and removes the directory", async () => {
    const pids = cluster.nodes.map((node) => node.pid!);
    await cluster.stop();
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
    expect(processesUsing(cluster.dir)).toEqual([]);
    expect(existsSync(cluster.dir)).toBe(false);
  });
});
