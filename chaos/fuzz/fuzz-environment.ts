/**
 * What the fuzzer runs against: a real server process on loopback over a
 * fresh database (a private mariadbd when none is given), with metrics on
 * (the event-loop delay histogram of prom-client's process metrics), plus
 * the world the cases need: a resource group, an execution manager alive and
 * one dead, the current session.
 *
 * Settings that keep the state still between cases, so a snapshot compares
 * only what requests did: execution managers are never declared dead by
 * silence (cut-off of an hour), terminated jobs stay cached for a day. The
 * largest request is 4 MiB, so requests above it are cheap to send.
 *
 * Ids: the auto-increment counters of jobs, resource groups and execution
 * managers start at 10^12, so ids decoded from random bytes (small varints)
 * or chosen at the edges (0, 2^63, 2^64 − 1) never name a real row by chance.
 */
import { randomBytes } from "node:crypto";
import { createConnection, type Connection } from "mysql2/promise";
import { createPromiseClient, type PromiseClient } from "../../src/grpc/adapter.ts";
import { InspectionService, RepairService } from "../../src/gen/admin/admin_pb.ts";
import { ServerProcess } from "../../testkit/server-process.ts";
import { freePort } from "../../testkit/free-port.ts";
import { createDatabase, startMariaDb, type PrivateMariaDb } from "../../testkit/mariadb.ts";
import { connectStorage, type StorageClients } from "../../testkit/sim/storage-clients.ts";
import { RawClient } from "./raw-client.ts";

export const ID_OFFSET = 1_000_000_000_000n;
/** runtime.limits.max_request_bytes of the fuzzed server. */
export const FUZZ_MAX_REQUEST_BYTES = 4 * 1024 * 1024;
/** runtime.limits.max_control_request_bytes (the default). */
export const FUZZ_MAX_CONTROL_REQUEST_BYTES = 64 * 1024;
export const RESOURCE_GROUP_PASSWORD = new TextEncoder().encode("fuzz-secret");

export interface FuzzWorld {
  readonly sessionId: bigint;
  readonly resourceGroupId: bigint;
  readonly resourceGroupName: string;
  readonly aliveExecutionManagerId: bigint;
  readonly deadExecutionManagerId: bigint;
}

export interface FuzzEnvironmentOptions {
  /**
   * A MariaDB URL. With a database in its path that database is used (it must
   * be new); with none ("mysql://root@127.0.0.1:3306/") a fresh one is created.
   * Without it, a private mariadbd is started and destroyed afterwards.
   */
  readonly databaseUrl?: string;
  /** Echo the server's log to stderr. */
  readonly echoServerLogs?: boolean;
}

export class FuzzEnvironment {
  readonly server: ServerProcess;
  readonly clients: StorageClients;
  readonly inspection: PromiseClient<(typeof InspectionService)["method"]>;
  readonly repair: PromiseClient<(typeof RepairService)["method"]>;
  readonly raw: RawClient;
  readonly db: Connection;
  readonly metricsUrl: string;
  readonly databaseUrl: string;
  world!: FuzzWorld;
  readonly #mariadb: PrivateMariaDb | undefined;

  private constructor(parts: {
    server: ServerProcess;
    db: Connection;
    metricsUrl: string;
    databaseUrl: string;
    mariadb: PrivateMariaDb | undefined;
  }) {
    this.server = parts.server;
    this.db = parts.db;
    this.metricsUrl = parts.metricsUrl;
    this.databaseUrl = parts.databaseUrl;
    this.#mariadb = parts.mariadb;
    this.clients = connectStorage(parts.server.address);
    this.inspection = createPromiseClient(InspectionService, parts.server.address);
    this.repair = createPromiseClient(RepairService, parts.server.address);
    this.raw = new RawClient(parts.server.address);
  }

  static async start(options: FuzzEnvironmentOptions = {}): Promise<FuzzEnvironment> {
    let mariadb: PrivateMariaDb | undefined;
    let databaseUrl = options.databaseUrl;
    if (databaseUrl === undefined) {
      mariadb = await startMariaDb();
      databaseUrl = await mariadb.createDatabase(`fuzz_${randomBytes(4).toString("hex")}`);
    } else if (new URL(databaseUrl).pathname.replace(/\//g, "") === "") {
      databaseUrl = await createDatabase(databaseUrl, `fuzz_${randomBytes(4).toString("hex")}`);
    } else {
      databaseUrl = await createDatabase(databaseUrl, new URL(databaseUrl).pathname.replace(/\//g, ""));
    }
    const metricsPort = await freePort();
    const server = await ServerProcess.start({
      databaseUrl,
      echoLogs: options.echoServerLogs ?? false,
      env: {
        SPIDER_STORAGE_LOG_LEVEL: "warn",
        SPIDER_STORAGE_RUNTIME__METRICS__ENABLED: "true",
        SPIDER_STORAGE_RUNTIME__METRICS__PORT: String(metricsPort),
        SPIDER_STORAGE_RUNTIME__CONSOLE__ENABLED: "false",
        SPIDER_STORAGE_RUNTIME__TASK_INSTANCE_POOL__EXECUTION_MANAGER_STALE_CUTOFF_SEC: "3600",
        SPIDER_STORAGE_RUNTIME__JOB_CACHE_GC__TERMINATED_JOB_RETENTION_SEC: "86400",
        SPIDER_STORAGE_RUNTIME__LIMITS__MAX_REQUEST_BYTES: String(FUZZ_MAX_REQUEST_BYTES),
      },
    });
    let db: Connection | undefined;
    try {
      const sessionId = await server.waitServing();
      const url = new URL(databaseUrl);
      db = await createConnection({
        host: url.hostname,
        port: Number(url.port || 3306),
        user: decodeURIComponent(url.username || "root"),
        password: decodeURIComponent(url.password),
        database: url.pathname.slice(1),
        supportBigNumbers: true,
        bigNumberStrings: true,
      });
      for (const table of ["jobs", "resource_groups", "execution_managers"]) {
        await db.query(`ALTER TABLE \`${table}\` AUTO_INCREMENT = ${ID_OFFSET}`);
      }
      const environment = new FuzzEnvironment({ server, db, metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`, databaseUrl, mariadb });
      await environment.#makeWorld(sessionId);
      return environment;
    } catch (error) {
      await db?.end().catch(() => undefined);
      await server.kill();
      await mariadb?.destroy();
      throw error;
    }
  }

  async #makeWorld(sessionId: bigint): Promise<void> {
    const resourceGroupName = `fuzz-${randomBytes(4).toString("hex")}`;
    const { resourceGroupId } = await this.clients.resourceGroups.addResourceGroup({ externalResourceGroupId: resourceGroupName, password: RESOURCE_GROUP_PASSWORD });
    const alive = await this.clients.liveness.registerExecutionManager({ ipAddress: "127.0.0.1" });
    const dead = await this.clients.liveness.registerExecutionManager({ ipAddress: "127.0.0.2" });
    const deadExecutionManagerId = dead.registration!.executionManagerId;
    await this.repair.releaseExecutionManager({ executionManagerId: deadExecutionManagerId, reason: "fuzz: a dead execution manager" });
    this.world = {
      sessionId,
      resourceGroupId,
      resourceGroupName,
      aliveExecutionManagerId: alive.registration!.executionManagerId,
      deadExecutionManagerId,
    };
  }

  /** Stops everything this environment started. */
  async close(): Promise<void> {
    this.raw.close();
    this.clients.close();
    this.inspection.close();
    this.repair.close();
    await this.db.end().catch(() => undefined);
    await this.server.stop();
    await this.#mariadb?.destroy();
  }
}
