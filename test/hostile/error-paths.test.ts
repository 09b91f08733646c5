/**
 * Hostile requests against the error paths (issue 17 items 1 and 4): a status
 * the transport cannot send never escapes the adapter as an exception (it
 * once became an unhandled rejection that ended the process); status details
 * and request log lines are bounded; the limit-refusal metric's label comes
 * only from the configuration's own runtime.limits keys, never from text a
 * caller sent.
 */
import { Writable } from "node:stream";
import * as grpc from "@grpc/grpc-js";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Operability } from "../../src/app/operability.ts";
import { resolveConfig } from "../../src/config/load-config.ts";
import { invalidArgument } from "../../src/core/errors.ts";
import { SessionManagementService } from "../../src/gen/storage/storage_pb.ts";
import { createPromiseClient, GENERIC_FAILURE_DETAILS, grpcImplementation, grpcServiceDefinition, type CallOutcome } from "../../src/grpc/adapter.ts";
import { boundedDetails, errorToStatus, MAX_STATUS_DETAILS_CHARS } from "../../src/grpc/status.ts";
import { silentLogger } from "../../src/observability/logger.ts";

describe("the adapter answers every call, whatever fails while answering", () => {
  let server: grpc.Server;
  let address: string;
  /** What the next call's handler, toStatus and observer do. */
  let mode: "lone-surrogate-details" | "toStatus-throws" | "observer-throws" | "ok" = "ok";

  beforeAll(async () => {
    server = new grpc.Server();
    server.addService(
      grpcServiceDefinition(SessionManagementService),
      grpcImplementation(
        SessionManagementService,
        {
          getSession: async () => {
            if (mode === "ok" || mode === "observer-throws") return { sessionId: 7n };
            throw invalidArgument("refused");
          },
        },
        (error) => {
          if (mode === "toStatus-throws") throw new RangeError("Invalid string length");
          // grpc-js encodeURIs the details: a lone surrogate makes it throw, as a string past V8's limit does.
          return { code: grpc.status.INVALID_ARGUMENT, details: `${(error as Error).message} \ud800` };
        },
        () => {
          if (mode === "observer-throws") throw new Error("observer bug");
        },
      ),
    );
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, p) => (error ? reject(error) : resolve(p))),
    );
    address = `127.0.0.1:${port}`;
  });
  afterAll(() => {
    server?.forceShutdown();
  });

  async function call(): Promise<{ code: grpc.status; details: string } | bigint> {
    const client = createPromiseClient(SessionManagementService, address);
    try {
      return (await client.getSession({}, { deadlineMs: 10_000 })).sessionId;
    } catch (error) {
      const e = error as grpc.ServiceError;
      return { code: e.code, details: e.details };
    } finally {
      client.close();
    }
  }

  it("details grpc-js cannot encode: the caller gets a short generic status with the same code", async () => {
    mode = "lone-surrogate-details";
    expect(await call()).toEqual({ code: grpc.status.INVALID_ARGUMENT, details: GENERIC_FAILURE_DETAILS });
  });

  it("toStatus throwing: the caller gets INTERNAL with the generic details", async () => {
    mode = "toStatus-throws";
    expect(await call()).toEqual({ code: grpc.status.INTERNAL, details: GENERIC_FAILURE_DETAILS });
  });

  it("an observer throwing does not keep the caller from its answer", async () => {
    mode = "observer-throws";
    expect(await call()).toBe(7n);
  });

  it("and the server still answers afterwards", async () => {
    mode = "ok";
    expect(await call()).toBe(7n);
  });
});

describe("status details are bounded and well-formed", () => {
  it("a message of 64 MiB becomes 1 KiB of details saying it was cut", () => {
    const status = errorToStatus(invalidArgument(`invalid IP address: ${"\u0001".repeat(64 * 1024 * 1024)}`), "m", silentLogger());
    expect(status.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(status.details!.length).toBeLessThanOrEqual(MAX_STATUS_DETAILS_CHARS);
    expect(status.details).toMatch(/^invalid IP address: \u0001+ … \(67108884 characters, cut\)$/);
  });

  it("short messages pass unchanged; lone surrogates are replaced", () => {
    expect(boundedDetails("task graph input size mismatch: expected 1, got 2")).toBe("task graph input size mismatch: expected 1, got 2");
    expect(boundedDetails("a\ud800b")).toBe("a\ufffdb");
    expect(boundedDetails(`${"x".repeat(2000)}\ud83d\ude00`).isWellFormed()).toBe(true);
  });
});

describe("limit refusals: labels from a fixed set, bounded log lines", () => {
  const lines: string[] = [];
  let operability: Operability;

  beforeAll(() => {
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(...chunk.toString().split("\n").filter((line) => line !== ""));
        done();
      },
    });
    const { config } = resolveConfig({ env: {} });
    operability = new Operability({ config, logger: pino({ level: "debug" }, sink) });
  });

  const refused = (message: string): CallOutcome => ({
    method: "storage.ExecutionManagerLivenessService/RegisterExecutionManager",
    code: grpc.status.INVALID_ARGUMENT,
    durationMs: 1,
    request: { ipAddress: message },
    responseBytes: 0,
    error: invalidArgument(message),
  });

  async function limitLabels(): Promise<string[]> {
    const text = await operability.metrics.registry.getSingleMetricAsString("spider_storage_limit_rejections_total");
    return [...text.matchAll(/limit="([^"]*)"/g)].map((m) => m[1]!);
  }

  it("a caller's text naming an unknown or a real limit key labels nothing", async () => {
    lines.length = 0;
    const junk = `runtime.limits.${"a".repeat(1024 * 1024)}`;
    operability.observeCall(refused(`invalid IP address: ${junk}`));
    operability.observeCall(refused(`invalid IP address: "(runtime.limits.${"b".repeat(1024 * 1024)})"`));
    operability.observeCall(refused('invalid IP address: "runtime.limits.max_request_bytes" is not an address'));
    expect(await limitLabels()).toEqual([]);
  });

  it("a real limit refusal is counted under its key", async () => {
    operability.observeCall(refused("request of 9 bytes is above the limit of 8 bytes (runtime.limits.max_request_bytes)"));
    expect(await limitLabels()).toEqual(["runtime.limits.max_request_bytes"]);
    // A key that looks right but is not a configuration key is not a label.
    operability.observeCall(refused("over the limit (runtime.limits.no_such_limit)"));
    expect(await limitLabels()).toEqual(["runtime.limits.max_request_bytes"]);
  });

  it("no log line of a refused request is longer than a few KiB", () => {
    lines.length = 0;
    operability.observeCall(refused(`invalid IP address: ${"\u0001".repeat(2 * 1024 * 1024)} (runtime.limits.max_request_bytes)`));
    expect(lines.length).toBeGreaterThan(0); // the debug request line, and the limit line
    for (const line of lines) expect(line.length).toBeLessThan(8 * 1024);
  });
});
