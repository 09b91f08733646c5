/**
 * gRPC health checking and server reflection on the storage port (issue 7;
 * DECISIONS D2, D3): NOT_SERVING during start-up, standby and recovery,
 * SERVING once serving, per storage service and for "" — answered while the
 * storage services themselves still refuse calls with UNAVAILABLE. Reflection
 * lists every service, read with a grpc-js reflection client.
 */
import * as grpc from "@grpc/grpc-js";
import { afterAll, describe, expect, it } from "vitest";
import { resolveConfig } from "../../src/config/load-config.ts";
import { Operability } from "../../src/app/operability.ts";
import { SessionManagementService } from "../../src/gen/storage/storage_pb.ts";
import { createPromiseClient } from "../../src/grpc/adapter.ts";
import { STORAGE_SERVICE_NAMES } from "../../src/grpc/health.ts";
import { GrpcServer } from "../../src/grpc/server.ts";
import { servingStatusOf } from "../../src/observability/health.ts";
import { silentLogger } from "../../src/observability/logger.ts";
import { STANDBY_MESSAGE } from "../../src/db/lease.ts";
import { ServerProcess } from "../../testkit/server-process.ts";
import { testDatabase } from "../../testkit/test-database.ts";
import { HealthClientWrapper } from "../../testkit/health-client.ts";
import { ReflectionClient, UNREACHABLE_DATABASE_URL } from "./helpers.ts";
import { waitFor } from "../../testkit/wait-for.ts";

const ALL_NAMES = ["", ...STORAGE_SERVICE_NAMES];

async function statuses(health: HealthClientWrapper): Promise<Record<string, string | grpc.status>> {
  const out: Record<string, string | grpc.status> = {};
  for (const name of ALL_NAMES) out[name] = await health.check(name);
  return out;
}

const every = (status: string) => Object.fromEntries(ALL_NAMES.map((name) => [name, status]));

async function getSessionCode(address: string): Promise<grpc.status | "OK"> {
  const client = createPromiseClient(SessionManagementService, address);
  try {
    await client.getSession({}, { deadlineMs: 20_000 }); // generous: a slow answer must not read as DEADLINE_EXCEEDED
    return "OK";
  } catch (error) {
    return (error as grpc.ServiceError).code;
  } finally {
    client.close();
  }
}

describe("health and reflection", () => {
  const servers: ServerProcess[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.kill()));
  });

  it("maps every phase to its serving status (recovery included)", () => {
    for (const phase of ["starting", "connecting", "standby", "migrating", "recovering", "reconnecting", "stopping", "stopped"]) {
      expect(servingStatusOf(phase), phase).toBe("NOT_SERVING");
    }
    expect(servingStatusOf("serving")).toBe("SERVING");
  });

  it("answers health over gRPC in-process as the phase moves through recovery to serving and stopping", async () => {
    const { config } = resolveConfig({ env: {} });
    const ops = new Operability({ config, logger: silentLogger() });
    const server = new GrpcServer({ maxRequestBytes: 1 << 20, logger: silentLogger(), readiness: { notServingReason: () => undefined } });
    ops.addGrpcServices(server.server);
    const port = await server.bind("127.0.0.1:0");
    const health = new HealthClientWrapper(`127.0.0.1:${port}`);
    try {
      expect(await statuses(health)).toEqual(every("NOT_SERVING"));
      const watch = health.watch("");
      await waitFor("the first watch message", () => watch.statuses.length === 1, { timeoutMs: 5_000 });
      ops.setPhase("recovering");
      expect(await health.check("storage.JobOrchestrationService")).toBe("NOT_SERVING");
      ops.setPhase("serving");
      expect(await statuses(health)).toEqual(every("SERVING"));
      await waitFor("the SERVING watch message", () => watch.statuses.length === 2, { timeoutMs: 5_000 });
      ops.setPhase("stopping");
      expect(await health.check("")).toBe("NOT_SERVING");
      // The watch was told NOT_SERVING and then ended, so it cannot hold the drain open.
      expect(await watch.ended).toBe("end");
      expect(watch.statuses).toEqual(["NOT_SERVING", "SERVING", "NOT_SERVING"]);
      expect(await health.check("no.such.Service")).toBe(grpc.status.NOT_FOUND);
    } finally {
      health.close();
      await ops.stop();
      await server.shutdown(1_000);
    }
  });

  it("during start-up (database unreachable): health NOT_SERVING, storage UNAVAILABLE, reflection lists every service", async () => {
    const server = await ServerProcess.start({ databaseUrl: UNREACHABLE_DATABASE_URL });
    servers.push(server);
    await waitFor("the connecting phase", () => server.logs.includes("database not reachable yet"), { timeoutMs: 20_000 });
    const health = new HealthClientWrapper(server.address);
    const reflection = new ReflectionClient(server.address);
    try {
      expect(await statuses(health)).toEqual(every("NOT_SERVING"));
      expect(await health.check("storage.NoSuchService")).toBe(grpc.status.NOT_FOUND);
      expect(await getSessionCode(server.address)).toBe(grpc.status.UNAVAILABLE);

      const services = await reflection.listServices();
      expect(services).toEqual(
        [
          ...STORAGE_SERVICE_NAMES,
          "spider_storage.admin.v1.InspectionService",
          "spider_storage.admin.v1.RepairService",
          "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"].sort(),
      );
      // The descriptors are whole: the service, its methods, and the file it imports.
      const files = await reflection.fileContainingSymbol("storage.JobOrchestrationService");
      const storage = files.find((f) => f.name === "storage/storage.proto")!;
      expect(storage.package).toBe("storage");
      const jobs = storage.service.find((s) => s.name === "JobOrchestrationService")!;
      expect(jobs.method.map((m) => m.name)).toEqual(["RegisterJob", "StartJob", "CancelJob", "GetJobState", "GetJobOutputs", "GetJobError"]);
      expect(storage.dependency).toContain("common/common.proto");
      const common = await reflection.fileContainingSymbol("common.TaskId");
      expect(common.map((f) => f.name)).toContain("common/common.proto");
    } finally {
      health.close();
      reflection.close();
    }
    expect((await server.stop()).code).toBe(0);
  });

  it("a standby reports NOT_SERVING until it takes over, then SERVING; a Watch follows it and ends at shutdown", async () => {
    const databaseUrl = await testDatabase("health");
    const leader = await ServerProcess.start({ databaseUrl });
    servers.push(leader);
    await leader.waitServing();
    const leaderHealth = new HealthClientWrapper(leader.address);
    expect(await statuses(leaderHealth)).toEqual(every("SERVING"));
    leaderHealth.close();

    const standby = await ServerProcess.start({ databaseUrl });
    servers.push(standby);
    await waitFor("the standby message", () => standby.logs.includes(STANDBY_MESSAGE), { timeoutMs: 20_000 });
    const health = new HealthClientWrapper(standby.address);
    try {
      expect(await statuses(health)).toEqual(every("NOT_SERVING"));
      expect(await getSessionCode(standby.address)).toBe(grpc.status.UNAVAILABLE);
      const watch = health.watch("storage.TaskInstanceManagementService");
      await waitFor("the first watch message", () => watch.statuses.length >= 1, { timeoutMs: 5_000 });

      expect((await leader.stop()).code).toBe(0);
      await waitFor("SERVING on the watch", () => watch.statuses.includes("SERVING"), { timeoutMs: 20_000 });
      expect(await statuses(health)).toEqual(every("SERVING"));
      expect(await getSessionCode(standby.address)).toBe("OK");

      // SIGTERM: NOT_SERVING first, then the server ends the watch itself (status OK), so the
      // drain is not held up until its deadline and force-cancelled (which would be an error here).
      expect((await standby.stop()).code).toBe(0);
      expect(await watch.ended).toBe("end");
      expect(watch.statuses[0]).toBe("NOT_SERVING");
      expect(watch.statuses).toContain("SERVING");
      expect(watch.statuses.at(-1)).toBe("NOT_SERVING");
    } finally {
      health.close();
    }
  });
});
