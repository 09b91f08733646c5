/**
 * W4's data: a private durable mariadbd whose `spider` database holds
 * `terminalJobs` terminal jobs (the base, built once and kept in a cache
 * directory, since a million rows take a while), and on top of it, per size,
 * `size` non-terminal jobs inserted in bulk straight into the schema the
 * server's own migrations created:
 *   - a quarter Running — a 10-task DAG (5 input tasks, 5 tasks reading 2 of
 *     them each) with its 5 input tasks checkpointed (half the tasks; every
 *     checkpointed task's ancestors are checkpointed too, D9);
 *   - a quarter CommitReady (outputs stored), a quarter CleanupReady, a quarter Ready.
 * Rows are written with INSERT … SELECT over MariaDB's sequence engine.
 * Between sizes, every job above the base's last id is deleted (checkpoints
 * cascade), so each size sits beside exactly the same terminal rows.
 */
import { existsSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createConnection, type Connection } from "mysql2/promise";
import { encodeTaskOutputs } from "../../src/core/task-outputs.ts";
import { encodeWireFrame } from "../../src/core/wire-frame.ts";
import { initialiseDataDir, MariaDbProcess } from "../../src/embedded/mariadbd-process.ts";
import { freePort } from "../../testkit/free-port.ts";
import { addResourceGroup, compressInputs } from "../../testkit/sim/cluster.ts";
import { layered } from "../../testkit/sim/job-shapes.ts";
import { expectedJobOutputs, runTaskFunction } from "../../testkit/sim/oracle.ts";
import { connectStorage } from "../../testkit/sim/storage-clients.ts";
import { ServerProcess } from "../../testkit/server-process.ts";
import { now, round } from "../lib/stats.ts";
import { serverEnv } from "./spider.ts";
import { seededRandom } from "../../src/core/seeded-random.ts";

const DATASET_VERSION = 1;
const CHUNK = 100_000;

export interface W4Database {
  readonly process: MariaDbProcess;
  readonly databaseUrl: string;
  readonly baseMaxId: bigint;
  readonly resourceGroupId: bigint;
  readonly terminalJobs: number;
  readonly builtNow: boolean;
  readonly buildMs: number;
  connect(): Promise<Connection>;
  stop(): Promise<void>;
}

interface Marker {
  readonly version: number;
  readonly terminalJobs: number;
  readonly baseMaxId: string;
  readonly resourceGroupId: string;
}

/** The 10-task DAG every non-terminal job carries, with commit and cleanup tasks. */
export function w4Job() {
  return layered(2, 5, 2, seededRandom(7), { commit: true, cleanup: true });
}

export function cacheDir(): string {
  return process.env["SPIDER_BENCH_CACHE"] ?? join(tmpdir(), "spider-storage-bench");
}

/** Starts mariadbd on the cached base (building it first if missing). */
export async function openW4Database(terminalJobs: number, log: (line: string) => void): Promise<W4Database> {
  const dataDir = join(cacheDir(), `w4-v${DATASET_VERSION}-t${terminalJobs}`);
  const markerPath = join(dataDir, "bench-dataset.json");
  let marker: Marker | undefined;
  if (existsSync(markerPath)) {
    marker = JSON.parse(await readFile(markerPath, "utf8")) as Marker;
    if (marker.version !== DATASET_VERSION || marker.terminalJobs !== terminalJobs) marker = undefined;
  }
  if (!marker && existsSync(dataDir)) await rm(dataDir, { recursive: true, force: true });
  await mkdir(cacheDir(), { recursive: true });
  await initialiseDataDir(dataDir);
  const port = await freePort();
  const process = new MariaDbProcess({
    dataDir,
    socket: join(dataDir, "sock"),
    port,
    extraArgs: ["--innodb-flush-log-at-trx-commit=1", "--innodb-buffer-pool-size=256M", "--innodb-log-file-size=256M", "--skip-log-bin"],
  });
  await process.start();
  const serverUrl = `mysql://root@127.0.0.1:${port}/`;
  const databaseUrl = `${serverUrl}spider`;
  const connect = () => createConnection({ uri: databaseUrl, supportBigNumbers: true, bigNumberStrings: true });
  const t0 = now();
  let builtNow = false;
  if (!marker) {
    log(`W4: building the base data set (${terminalJobs.toLocaleString("en-US")} terminal jobs) in ${dataDir}; later runs reuse it`);
    marker = await buildBase(serverUrl, databaseUrl, terminalJobs);
    await writeFile(markerPath, JSON.stringify(marker, null, 2));
    builtNow = true;
  }
  return {
    process,
    databaseUrl,
    baseMaxId: BigInt(marker.baseMaxId),
    resourceGroupId: BigInt(marker.resourceGroupId),
    terminalJobs,
    builtNow,
    buildMs: round(now() - t0),
    connect,
    stop: () => process.stop(),
  };
}

async function buildBase(serverUrl: string, databaseUrl: string, terminalJobs: number): Promise<Marker> {
  const admin = await createConnection({ uri: serverUrl });
  await admin.query("CREATE DATABASE IF NOT EXISTS spider");
  await admin.end();
  // The server's own migrations make the schema; a resource group through the real RPC.
  const server = await ServerProcess.start({ databaseUrl, env: { ...serverEnv() } });
  let resourceGroupId: bigint;
  try {
    await server.waitServing(120_000);
    const clients = connectStorage(server.address);
    resourceGroupId = await addResourceGroup(clients, "bench-w4");
    clients.close();
  } finally {
    await server.stop();
  }
  const connection = await createConnection({ uri: databaseUrl, supportBigNumbers: true, bigNumberStrings: true });
  try {
    const job = w4Job();
    const graph = Buffer.from(job.builder.toCompressed());
    const inputs = Buffer.from(compressInputs(job.inputs));
    const outputs = Buffer.from(encodeTaskOutputs(expectedJobOutputs(job.builder.build(), job.inputs)));
    // 90 % Succeeded, 5 % Failed, 5 % Cancelled, in chunks (one statement, one commit each).
    for (let done = 0; done < terminalJobs; done += CHUNK) {
      const n = Math.min(CHUNK, terminalJobs - done);
      await connection.query(
        `INSERT INTO jobs (resource_group_id, state, compressed_serialized_task_graph, compressed_serialized_job_inputs,
                           serialized_job_outputs, error_message, ended_at)
         SELECT ?, ELT(1 + (seq % 20 = 0) + 2 * (seq % 20 = 1), 'Succeeded', 'Failed', 'Cancelled'), ?, ?,
                IF(seq % 20 > 1, ?, NULL), IF(seq % 20 = 0, 'task 3 failed: bench', NULL), CURRENT_TIMESTAMP(3)
         FROM seq_1_to_${n}`,
        [String(resourceGroupId), graph, inputs, outputs],
      );
    }
    const [rows] = (await connection.query("SELECT COALESCE(MAX(id), 0) AS maxId FROM jobs")) as unknown as [{ maxId: string }[]];
    return { version: DATASET_VERSION, terminalJobs, baseMaxId: String(rows[0]!.maxId), resourceGroupId: String(resourceGroupId) };
  } finally {
    await connection.end();
  }
}

export interface InsertedNonTerminal {
  readonly jobs: number;
  readonly byState: Record<string, number>;
  readonly checkpoints: number;
  readonly insertMs: number;
}

/** Deletes every job above the base, then inserts `size` non-terminal jobs (and their checkpoints). */
export async function resetAndInsert(db: W4Database, size: number): Promise<InsertedNonTerminal> {
  const connection = await db.connect();
  try {
    const t0 = now();
    await connection.query("DELETE FROM jobs WHERE id > ?", [String(db.baseMaxId)]);
    const job = w4Job();
    const graph = Buffer.from(job.builder.toCompressed());
    const inputs = Buffer.from(compressInputs(job.inputs));
    const built = job.builder.build();
    const outputs = Buffer.from(encodeTaskOutputs(expectedJobOutputs(built, job.inputs)));
    const quarter = Math.floor(size / 4);
    const byState: Record<string, number> = { Running: quarter, CommitReady: quarter, CleanupReady: quarter, Ready: size - 3 * quarter };
    for (const [state, count] of Object.entries(byState)) {
      for (let done = 0; done < count; done += CHUNK) {
        const n = Math.min(CHUNK, count - done);
        if (n <= 0) break;
        await connection.query(
          `INSERT INTO jobs (resource_group_id, state, compressed_serialized_task_graph, compressed_serialized_job_inputs, serialized_job_outputs)
           SELECT ?, ?, ?, ?, ? FROM seq_1_to_${n}`,
          [String(db.resourceGroupId), state, graph, inputs, state === "CommitReady" ? outputs : null],
        );
      }
    }
    // Checkpoints: the 5 input tasks of every Running job, with the outputs the oracle gives.
    let checkpoints = 0;
    for (let index = 0; index < 5; index++) {
      const task = built.tasks[index]!;
      const taskInputs = job.inputs.slice(task.graphInputOffset, task.graphInputOffset + task.inputCount);
      const frame = Buffer.from(encodeWireFrame(runTaskFunction(task.tdlContext.taskFunc, taskInputs, task.outputCount)));
      const [result] = (await connection.query(
        `INSERT INTO task_checkpoints (job_id, task_index, outputs)
         SELECT id, ?, ? FROM jobs WHERE state = 'Running' AND id > ?`,
        [index, frame, String(db.baseMaxId)],
      )) as unknown as [{ affectedRows: number }];
      checkpoints += result.affectedRows;
    }
    return { jobs: size, byState, checkpoints, insertMs: round(now() - t0) };
  } finally {
    await connection.end();
  }
}
