/**
 * The health service shares the port with the storage services and must not
 * let a request pin memory either (issue #17 item 3): a Check or Watch request
 * above MAX_HEALTH_REQUEST_BYTES is refused undecoded (a Watch would otherwise
 * hold it for its whole life), and a gzip one is decompressed no further than
 * max_control_request_bytes. Real loopback gRPC.
 */
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lengthDelimitedField } from "../../testkit/protobuf-wire.ts";
import { GrpcHealth, MAX_HEALTH_REQUEST_BYTES } from "../../src/grpc/health.ts";
import { GrpcServer } from "../../src/grpc/server.ts";
import { HealthState } from "../../src/observability/health.ts";
import { silentLogger } from "../../src/observability/logger.ts";

const CHECK = "/grpc.health.v1.Health/Check";

/** HealthCheckRequest { service: "" } followed by an unknown bytes field (1023) of `size` zeros. */
function checkWithUnknownField(size: number): Buffer {
  return lengthDelimitedField(1023, Buffer.alloc(size));
}

function call(address: string, body: Buffer, options: { gzip?: boolean } = {}): Promise<Buffer> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure(), options.gzip ? { "grpc.default_compression_algorithm": 2 } : {});
  return new Promise((resolve, reject) =>
    client.makeUnaryRequest(CHECK, (b: Buffer) => b, (b: Buffer) => b, body, (error, response) => {
      client.close();
      if (error) reject(error);
      else resolve(response!);
    }),
  );
}

describe("health requests are capped", () => {
  let server: GrpcServer;
  let address: string;
  beforeAll(async () => {
    server = new GrpcServer({ maxRequestBytes: 1 << 20, logger: silentLogger(), readiness: { notServingReason: () => undefined } });
    new GrpcHealth(new HealthState()).addToServer(server.server);
    address = `127.0.0.1:${await server.bind("127.0.0.1:0")}`;
  });
  afterAll(async () => server?.shutdown(1_000));

  it("answers a Check carrying a small unknown field, and refuses one above the cap undecoded", async () => {
    expect((await call(address, checkWithUnknownField(100))).length).toBeGreaterThan(0);
    const error = (await call(address, checkWithUnknownField(MAX_HEALTH_REQUEST_BYTES + 1)).catch((e: unknown) => e)) as grpc.ServiceError;
    expect(grpc.status[error.code]).toBe("INTERNAL");
  });

  it("decompresses a gzip Check no further than max_control_request_bytes", async () => {
    const error = (await call(address, checkWithUnknownField(200 * 1024), { gzip: true }).catch((e: unknown) => e)) as grpc.ServiceError;
    expect(grpc.status[error.code]).toBe("RESOURCE_EXHAUSTED");
    expect(error.details).toBe("Received message that decompresses to a size larger than 65536");
  });
});
