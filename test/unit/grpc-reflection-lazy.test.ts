/**
 * Reflection loads @grpc/reflection on its first call (src/grpc/reflection.ts),
 * over real loopback gRPC: requests written on one stream while the library
 * loads are all answered, in order; v1alpha answers like v1; a request that
 * does not decode ends its stream with INVALID_ARGUMENT (it used to throw out of
 * a stream's event handler and end the process); a request above
 * MAX_REFLECTION_REQUEST_BYTES is refused undecoded with INVALID_ARGUMENT naming the limit.
 */
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lengthDelimitedField } from "../../testkit/protobuf-wire.ts";
import { addReflection, MAX_REFLECTION_REQUEST_BYTES } from "../../src/grpc/reflection.ts";
import { GrpcServer } from "../../src/grpc/server.ts";
import { silentLogger } from "../../src/observability/logger.ts";
import { reflectionV1Definition } from "../operability/helpers.ts";

interface Response {
  listServicesResponse?: { service: { name: string }[] };
  fileDescriptorResponse?: { fileDescriptorProto: unknown[] };
}

/** A client of one reflection version: the v1 definition, at `pkg`'s path (v1alpha's messages are the same). */
function reflectionClient(address: string, pkg: string): grpc.Client {
  const v1 = reflectionV1Definition();
  const definition = Object.fromEntries(Object.entries(v1).map(([name, method]) => [name, { ...method, path: method.path.replace("grpc.reflection.v1.", `${pkg}.`) }]));
  const Constructor = grpc.makeGenericClientConstructor(definition, "ServerReflection");
  return new Constructor(address, grpc.credentials.createInsecure());
}

/** Writes every request on one stream at once, then reads every response. */
function exchange(client: grpc.Client, requests: Record<string, unknown>[]): Promise<Response[]> {
  return new Promise((resolve, reject) => {
    const stream = (client as unknown as Record<string, Function>)["ServerReflectionInfo"]!.call(client) as grpc.ClientDuplexStream<unknown, Response>;
    const responses: Response[] = [];
    stream.on("data", (response: Response) => responses.push(response));
    stream.on("end", () => resolve(responses));
    stream.on("error", reject);
    for (const request of requests) stream.write(request);
    stream.end();
  });
}

/** Writes `bytes` raw on a v1 reflection stream and returns the error the stream ends with. */
async function streamError(address: string, bytes: Buffer): Promise<grpc.ServiceError> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  try {
    return await new Promise<grpc.ServiceError>((resolve) => {
      const stream = client.makeBidiStreamRequest("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", (b: Buffer) => b, (b: Buffer) => b);
      stream.on("data", () => undefined);
      stream.on("error", resolve);
      stream.write(bytes);
    });
  } finally {
    client.close();
  }
}

/** How many services a fresh v1 stream lists (reflection still serving). */
async function listedServices(address: string): Promise<number> {
  const client = reflectionClient(address, "grpc.reflection.v1");
  try {
    const [response] = await exchange(client, [{ listServices: "*" }]);
    return response!.listServicesResponse!.service.length;
  } finally {
    client.close();
  }
}

describe("reflection, loaded on first use", () => {
  let server: GrpcServer;
  let address: string;
  const errors: unknown[] = [];
  beforeAll(async () => {
    server = new GrpcServer({ maxRequestBytes: 1 << 20, logger: silentLogger(), readiness: { notServingReason: () => undefined } });
    addReflection(server.server, (error) => errors.push(error));
    address = `127.0.0.1:${await server.bind("127.0.0.1:0")}`;
  });
  afterAll(async () => server?.shutdown(1_000));

  it("answers every request of the first stream, written before the library has loaded, in order", async () => {
    const client = reflectionClient(address, "grpc.reflection.v1");
    try {
      const responses = await exchange(client, [{ listServices: "*" }, { fileContainingSymbol: "storage.JobOrchestrationService" }, { listServices: "*" }]);
      expect(responses.map((r) => (r.listServicesResponse ? "list" : r.fileDescriptorResponse ? "file" : "other"))).toEqual(["list", "file", "list"]);
      expect(responses[0]!.listServicesResponse!.service.map((s) => s.name)).toEqual(
        expect.arrayContaining(["storage.JobOrchestrationService", "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"]),
      );
      expect(errors).toEqual([]);
    } finally {
      client.close();
    }
  });

  it("answers v1alpha as v1", async () => {
    const client = reflectionClient(address, "grpc.reflection.v1alpha");
    try {
      const [response] = await exchange(client, [{ listServices: "*" }]);
      expect(response!.listServicesResponse!.service.map((s) => s.name)).toContain("spider_storage.admin.v1.InspectionService");
    } finally {
      client.close();
    }
  });

  it("answers a request that does not decode with an error, and goes on serving", async () => {
    // An unknown field (15) with wire type 7, which protobuf does not have: it cannot be skipped.
    const error = await streamError(address, Buffer.from([0x7f]));
    expect(grpc.status[error.code]).toBe("INVALID_ARGUMENT");
    expect(await listedServices(address)).toBeGreaterThan(0);
  });

  it("refuses a request above the cap undecoded with INVALID_ARGUMENT naming the limit, and goes on serving", async () => {
    // Field 4 (file_containing_symbol), a string of MAX + 1 bytes: well-formed, only too large.
    const error = await streamError(address, lengthDelimitedField(4, Buffer.alloc(MAX_REFLECTION_REQUEST_BYTES + 1, 0x61)));
    // D5: a request of a method without payload above its cap is INVALID_ARGUMENT naming the limit, undecoded (it was INTERNAL).
    expect(grpc.status[error.code]).toBe("INVALID_ARGUMENT");
    expect(error.details).toContain(`above the limit of ${MAX_REFLECTION_REQUEST_BYTES} bytes`);
    expect(await listedServices(address)).toBeGreaterThan(0);
  });
});
