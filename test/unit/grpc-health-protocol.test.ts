/**
 * Our health service (src/grpc/health.ts, protobuf-es) answers exactly as
 * grpc-health-check's HealthImplementation, which it replaced (issue 20.5):
 * the same requests, as raw bytes over real loopback gRPC, to both servers,
 * holding the same statuses, get the same response bytes, status codes and
 * messages — Check of a known and an unknown service, the first message of a
 * Watch of each, List. Then what only ours does: a Watch follows the server's
 * phase and is sent each change once.
 */
import * as grpc from "@grpc/grpc-js";
import { HealthImplementation } from "grpc-health-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GrpcHealth, STORAGE_SERVICE_NAMES } from "../../src/grpc/health.ts";
import { HealthState } from "../../src/observability/health.ts";
import { HealthClientWrapper } from "../../testkit/health-client.ts";
import { lengthDelimitedField } from "../../testkit/protobuf-wire.ts";
import { waitFor } from "../../testkit/wait-for.ts";

const bytes = (b: Buffer) => b;

/** HealthCheckRequest { service } on the wire. */
function checkRequest(service: string): Buffer {
  return service === "" ? Buffer.alloc(0) : lengthDelimitedField(1, Buffer.from(service));
}

interface RawAnswer {
  readonly code: grpc.status;
  readonly details: string;
  readonly body: string;
}

function unary(address: string, method: string, body: Buffer): Promise<RawAnswer> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  return new Promise((resolve) =>
    client.makeUnaryRequest(`/grpc.health.v1.Health/${method}`, bytes, bytes, body, (error, response) => {
      client.close();
      resolve(error ? { code: error.code, details: error.details, body: "" } : { code: grpc.status.OK, details: "", body: response!.toString("hex") });
    }),
  );
}

/** The first message of a Watch, as hex; the stream is then cancelled. */
function firstWatchMessage(address: string, service: string): Promise<string> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  const call = client.makeServerStreamRequest("/grpc.health.v1.Health/Watch", bytes, bytes, checkRequest(service));
  return new Promise((resolve, reject) => {
    call.once("data", (message: Buffer) => {
      resolve(message.toString("hex"));
      call.cancel();
      client.close();
    });
    call.once("error", (error: grpc.ServiceError) => {
      if (error.code !== grpc.status.CANCELLED) reject(error);
    });
  });
}

async function serve(add: (server: grpc.Server) => void): Promise<{ server: grpc.Server; address: string }> {
  const server = new grpc.Server();
  add(server);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, p) => (error ? reject(error) : resolve(p))),
  );
  return { server, address: `127.0.0.1:${port}` };
}

describe("the health service answers as grpc-health-check does", () => {
  const names = ["", ...STORAGE_SERVICE_NAMES];
  const state = new HealthState();
  let ours: { server: grpc.Server; address: string };
  let library: { server: grpc.Server; address: string };
  beforeAll(async () => {
    ours = await serve((server) => new GrpcHealth(state).addToServer(server));
    library = await serve((server) => new HealthImplementation(Object.fromEntries(names.map((name) => [name, "NOT_SERVING"]))).addToServer(server));
  });
  afterAll(() => {
    ours?.server.forceShutdown();
    library?.server.forceShutdown();
  });

  it.each([
    ["Check of the whole server", "Check", checkRequest("")],
    ["Check of a storage service", "Check", checkRequest("storage.JobOrchestrationService")],
    ["Check of a service it does not know (NOT_FOUND)", "Check", checkRequest("no.such.Service")],
    ["List", "List", Buffer.alloc(0)],
  ])("%s: the same bytes, status and message", async (_name, method, body) => {
    const expected = await unary(library.address, method, body);
    expect(await unary(ours.address, method, body)).toEqual(expected);
    // The case can tell the two apart: the library's answer is not empty.
    expect(expected.body !== "" || expected.details !== "").toBe(true);
  });

  it("answers an unknown service's Check with NOT_FOUND, naming it", async () => {
    expect(await unary(ours.address, "Check", checkRequest("no.such.Service"))).toEqual({
      code: grpc.status.NOT_FOUND,
      details: "Health status unknown for service no.such.Service",
      body: "",
    });
  });

  it.each([
    ["the whole server", ""],
    ["a storage service", "storage.SessionManagementService"],
    ["a service it does not know (SERVICE_UNKNOWN)", "no.such.Service"],
  ])("Watch of %s: the same first message", async (_name, service) => {
    expect(await firstWatchMessage(ours.address, service)).toBe(await firstWatchMessage(library.address, service));
  });
});

describe("a Watch on our health service", () => {
  it("is sent each phase change once, and only changes", async () => {
    const state = new HealthState();
    const { server, address } = await serve((s) => new GrpcHealth(state).addToServer(s));
    const client = new HealthClientWrapper(address);
    try {
      const watch = client.watch("storage.InboundQueueService");
      await waitFor("the first watch message", () => watch.statuses.length === 1, { timeoutMs: 5_000 });
      state.setPhase("recovering"); // still NOT_SERVING: nothing to send
      state.setPhase("serving");
      await waitFor("SERVING on the watch", () => watch.statuses.includes("SERVING"), { timeoutMs: 5_000 });
      state.setPhase("stopping");
      expect(await watch.ended).toBe("end");
      expect(watch.statuses).toEqual(["NOT_SERVING", "SERVING", "NOT_SERVING"]);
    } finally {
      client.close();
      server.forceShutdown();
    }
  });
});
