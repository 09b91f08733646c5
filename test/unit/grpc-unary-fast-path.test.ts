/**
 * The unary fast path (src/grpc/unary-fast-path.ts) answers exactly as
 * grpc-js does. Two servers with the same handlers, one with the fast path
 * and one without, get the same requests over real loopback HTTP/2 — good
 * ones, refused ones, malformed ones written frame by frame — and must give
 * the same status, message, response bytes and headers; handlers must see the
 * same call (metadata, peer, deadline, cancellation) either way.
 */
import { once } from "node:events";
import http2 from "node:http2";
import * as grpc from "@grpc/grpc-js";
import { create, toBinary } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { invalidArgument } from "../../src/core/errors.ts";
import {
  JobIdRequestSchema,
  JobOrchestrationService,
  JobState,
  SessionManagementService,
  InboundQueueService,
} from "../../src/gen/storage/storage_pb.ts";
import { createPromiseClient, type CallOutcome } from "../../src/grpc/adapter.ts";
import { GrpcServer } from "../../src/grpc/server.ts";
import { installUnaryFastPath, UnaryFastPath } from "../../src/grpc/unary-fast-path.ts";
import { silentLogger, type Logger } from "../../src/observability/logger.ts";
import { waitFor } from "../../testkit/wait-for.ts";

const MAX_REQUEST_BYTES = 256 * 1024;
const CONTROL_LIMIT = 8 * 1024;

type Call = grpc.ServerUnaryCall<unknown, unknown>;

interface Side {
  readonly name: string;
  readonly server: GrpcServer;
  readonly port: number;
  readonly outcomes: CallOutcome[];
  /** The call objects GetJobState's handler saw, by job id. */
  readonly calls: Map<bigint, Call>;
  /** What GetJobState's handler read of its caller while running (a closed call may no longer know it), by job id. */
  readonly peers: Map<bigint, { peer: string; deadline: number }>;
  /** Job ids whose GetJobState handler heard 'cancelled'. */
  readonly cancelled: Set<bigint>;
  readonly client: ReturnType<typeof createPromiseClient<(typeof JobOrchestrationService)["method"]>>;
}

async function startSide(name: string, unaryFastPath: boolean): Promise<Side> {
  const outcomes: CallOutcome[] = [];
  const calls = new Map<bigint, Call>();
  const cancelled = new Set<bigint>();
  const peers = new Map<bigint, { peer: string; deadline: number }>();
  const server = new GrpcServer({
    maxRequestBytes: MAX_REQUEST_BYTES,
    maxControlRequestBytes: CONTROL_LIMIT,
    logger: silentLogger(),
    readiness: { notServingReason: () => undefined },
    observer: (outcome) => outcomes.push(outcome),
    unaryFastPath,
  });
  server.addService(
    JobOrchestrationService,
    {
      registerJob: async (request) => ({ jobId: BigInt(request.compressedSerializedTaskGraph.length) }),
      startJob: async (request) => {
        if (request.jobId === 0n) throw invalidArgument("job id 0 is not valid");
        if (request.jobId === 1n) throw new TypeError("a bug");
        if (request.jobId === 2n) throw invalidArgument("lone \ud800 surrogate");
        return { state: JobState.RUNNING };
      },
      getJobState: async (request, call) => {
        calls.set(request.jobId, call as Call);
        peers.set(request.jobId, { peer: call.getPeer(), deadline: Number(call.getDeadline()) });
        call.once("cancelled", () => cancelled.add(request.jobId));
        if (request.jobId >= 1000n) await new Promise(() => {}); // never answers: for deadlines and cancellation
        return { state: JobState.READY };
      },
      cancelJob: async () => ({ state: JobState.CANCELLED }),
      getJobOutputs: async () => ({ serializedOutputs: new Uint8Array([1, 2, 3]) }),
      getJobError: async (request) => ({ errorMessage: `job ${request.jobId}` }),
    },
    { payloadMethods: ["registerJob"] },
  );
  server.addService(InboundQueueService, {
    pollReadyTasks: async () => ({ tasks: { sessionId: 7n, tasks: [] } }),
    pollReadyCommitTasks: async () => ({ tasks: { sessionId: 7n, tasks: [] } }),
    pollReadyCleanupTasks: async () => ({ tasks: { sessionId: 7n, tasks: [] } }),
  });
  const port = await server.bind("127.0.0.1:0");
  return { name, server, port, outcomes, calls, peers, cancelled, client: createPromiseClient(JobOrchestrationService, `127.0.0.1:${port}`) };
}

/** What a raw HTTP/2 exchange gave back: response headers and trailers merged (no date), and the body. */
interface RawAnswer {
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

/** One request written by hand: `frames` are sent as they are (each its own DATA write), then the end of stream. */
async function raw(port: number, path: string, frames: Buffer[], extraHeaders: Record<string, string> = {}): Promise<RawAnswer> {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  try {
    const request = session.request({ ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers", ...extraHeaders });
    const headers: Record<string, string> = {};
    const keep = (h: http2.IncomingHttpHeaders) => {
      for (const [k, v] of Object.entries(h)) if (k !== "date") headers[k] = String(v);
    };
    request.on("response", keep);
    request.on("trailers", keep);
    const chunks: Buffer[] = [];
    request.on("data", (c: Buffer) => chunks.push(c));
    request.on("error", () => {});
    for (const frame of frames) request.write(frame);
    request.end();
    await once(request, "close");
    return { headers, body: Buffer.concat(chunks) };
  } finally {
    session.close();
  }
}

function frame(message: Uint8Array, declaredLength = message.length): Buffer {
  const out = Buffer.alloc(5 + message.length);
  out.writeUInt32BE(declaredLength, 1);
  out.set(message, 5);
  return out;
}

const getJobState = (jobId: bigint) => toBinary(JobIdRequestSchema, create(JobIdRequestSchema, { jobId }));

describe("the unary fast path answers as grpc-js does", () => {
  let fast: Side;
  let slow: Side;

  beforeAll(async () => {
    [fast, slow] = await Promise.all([startSide("fast path", true), startSide("grpc-js", false)]);
  });

  afterAll(async () => {
    for (const side of [fast, slow]) {
      side.client.close();
      await side.server.shutdown(1_000);
    }
  });

  /** Sends the same raw request to both servers and expects the same answer; returns it. */
  async function same(path: string, frames: Buffer[], headers: Record<string, string> = {}): Promise<RawAnswer> {
    const [a, b] = await Promise.all([raw(fast.port, path, frames, headers), raw(slow.port, path, frames, headers)]);
    expect(a.headers, `${path}: fast path vs grpc-js`).toEqual(b.headers);
    expect(a.body.equals(b.body), `${path}: the response bytes`).toBe(true);
    return a;
  }

  it("a good call: the same response bytes, headers and trailers", async () => {
    const answer = await same("/storage.JobOrchestrationService/GetJobError", [frame(getJobState(42n))]);
    expect(answer.headers["grpc-status"]).toBe("0");
    expect(answer.headers["content-type"]).toBe("application/grpc+proto");
    expect(answer.body.length).toBeGreaterThan(5);
  });

  it("a message split across many DATA frames is put back together", async () => {
    const whole = frame(getJobState((1n << 63n) + 5n));
    const answer = await same("/storage.JobOrchestrationService/GetJobError", [...whole].map((byte) => Buffer.from([byte])));
    expect(answer.body.subarray(5).toString("latin1")).toContain(String((1n << 63n) + 5n));
  });

  it("a handler's refusal, a bug and details that cannot be encoded: the same statuses and messages", async () => {
    for (const jobId of [0n, 1n, 2n]) {
      const answer = await same("/storage.JobOrchestrationService/StartJob", [frame(getJobState(jobId))]);
      expect(answer.headers["grpc-status"]).not.toBe("0");
    }
  });

  it("a request above max_request_bytes is refused from its length prefix with RESOURCE_EXHAUSTED, the handler never runs", async () => {
    const before = fast.outcomes.length;
    const answer = await same("/storage.JobOrchestrationService/RegisterJob", [Buffer.from([0, 0, 0x10, 0, 0])]);
    expect(answer.headers["grpc-status"]).toBe(String(grpc.status.RESOURCE_EXHAUSTED));
    expect(decodeURI(answer.headers["grpc-message"]!)).toBe(`Received message larger than max (1048576 vs ${MAX_REQUEST_BYTES})`);
    expect(fast.outcomes.length).toBe(before);
  });

  it("a control request above max_control_request_bytes is refused undecoded with INVALID_ARGUMENT", async () => {
    const answer = await same("/storage.InboundQueueService/PollReadyTasks", [frame(new Uint8Array(CONTROL_LIMIT + 1))]);
    expect(answer.headers["grpc-status"]).toBe(String(grpc.status.INVALID_ARGUMENT));
    expect(decodeURI(answer.headers["grpc-message"]!)).toContain("runtime.limits.max_control_request_bytes");
  });

  it("a message that does not decode is refused with INVALID_ARGUMENT", async () => {
    const answer = await same("/storage.JobOrchestrationService/GetJobState", [frame(new Uint8Array([0x0a, 0xff]))]);
    expect(answer.headers["grpc-status"]).toBe(String(grpc.status.INVALID_ARGUMENT));
  });

  it("no message, a message cut short, and two messages: UNIMPLEMENTED as grpc-js says it", async () => {
    const path = "/storage.JobOrchestrationService/GetJobState";
    expect((await same(path, [])).headers["grpc-status"]).toBe(String(grpc.status.UNIMPLEMENTED));
    expect((await same(path, [frame(getJobState(3n)).subarray(0, 4)])).headers["grpc-status"]).toBe(String(grpc.status.UNIMPLEMENTED));
    expect((await same(path, [frame(getJobState(3n)), frame(getJobState(4n))])).headers["grpc-status"]).toBe(String(grpc.status.UNIMPLEMENTED));
    expect((await same(path, [Buffer.concat([frame(getJobState(3n)), frame(getJobState(4n))])])).headers["grpc-status"]).toBe(
      String(grpc.status.UNIMPLEMENTED),
    );
  });

  it("a method no service has, and a content type that is not gRPC, are grpc-js's answers", async () => {
    expect((await same("/storage.Nope/Nothing", [frame(getJobState(1n))])).headers["grpc-status"]).toBe(String(grpc.status.UNIMPLEMENTED));
    expect((await same("/storage.JobOrchestrationService/GetJobState", [frame(getJobState(1n))], { "content-type": "text/plain" })).headers[":status"]).toBe(
      "415",
    );
  });

  it("a malformed grpc-timeout is grpc-js's INTERNAL answer", async () => {
    const answer = await same("/storage.JobOrchestrationService/GetJobState", [frame(getJobState(5n))], { "grpc-timeout": "soon" });
    expect(answer.headers["grpc-status"]).toBe(String(grpc.status.INTERNAL));
  });

  it("handlers see the same metadata (grpc-timeout removed), path and peer format", async () => {
    const metadata = new grpc.Metadata();
    metadata.set("x-probe", "hello");
    for (const side of [fast, slow]) {
      const jobId = side === fast ? 10n : 11n;
      await side.client.getJobState({ jobId }, { metadata, deadlineMs: 60_000 });
      const call = side.calls.get(jobId)!;
      expect(call.metadata.get("x-probe"), side.name).toEqual(["hello"]);
      expect(call.metadata.get("grpc-timeout"), side.name).toEqual([]);
      expect(call.metadata.get("content-type"), side.name).toEqual([]);
      expect(call.getPath(), side.name).toBe("/storage.JobOrchestrationService/GetJobState");
      expect(side.peers.get(jobId)!.peer, side.name).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(side.peers.get(jobId)!.deadline, side.name).toBeGreaterThan(Date.now());
    }
  });

  it("a deadline that passes answers DEADLINE_EXCEEDED and the handler hears 'cancelled'", async () => {
    for (const side of [fast, slow]) {
      const jobId = side === fast ? 1000n : 1001n;
      const error = (await side.client.getJobState({ jobId }, { deadlineMs: 100 }).catch((e: unknown) => e)) as grpc.ServiceError;
      expect(error.code, side.name).toBe(grpc.status.DEADLINE_EXCEEDED);
      await waitFor(`${side.name}: the handler to hear 'cancelled'`, () => side.cancelled.has(jobId), { intervalMs: 5 });
      expect(side.calls.get(jobId)!.cancelled, side.name).toBe(true);
    }
  });

  it("a caller that cancels: the handler hears 'cancelled' and its late answer goes nowhere", async () => {
    for (const side of [fast, slow]) {
      const jobId = side === fast ? 2000n : 2001n;
      const session = http2.connect(`http://127.0.0.1:${side.port}`);
      const request = session.request({ ":method": "POST", ":path": "/storage.JobOrchestrationService/GetJobState", "content-type": "application/grpc", te: "trailers" });
      request.on("error", () => {});
      request.end(frame(getJobState(jobId)));
      await waitFor(`${side.name}: the handler to run`, () => side.calls.has(jobId), { intervalMs: 5 }); // it could have been answered now
      expect(side.cancelled.has(jobId), side.name).toBe(false);
      request.close(http2.constants.NGHTTP2_CANCEL);
      await waitFor(`${side.name}: the handler to hear 'cancelled'`, () => side.cancelled.has(jobId), { intervalMs: 5 });
      expect(side.calls.get(jobId)!.cancelled, side.name).toBe(true);
      session.close();
    }
  });

  it("the observer hears the same outcomes from both paths", async () => {
    const take = (side: Side) => side.outcomes.splice(0).map((o) => ({ method: o.method, code: o.code, responseBytes: o.responseBytes }));
    take(fast);
    take(slow);
    for (const side of [fast, slow]) {
      await side.client.startJob({ jobId: 5n });
      await side.client.startJob({ jobId: 0n }).catch(() => {});
      await side.client.registerJob({ compressedSerializedTaskGraph: new Uint8Array(100_000) });
    }
    expect(take(fast)).toEqual(take(slow));
  });

  it("a gzip request goes to grpc-js (whose decompression caps apply) and is answered", async () => {
    const gzip = createPromiseClient(JobOrchestrationService, `127.0.0.1:${fast.port}`, grpc.credentials.createInsecure(), {
      "grpc.default_compression_algorithm": grpc.compressionAlgorithms.gzip,
    });
    try {
      expect((await gzip.getJobError({ jobId: 9n })).errorMessage).toBe("job 9");
      const call = fast.calls.size;
      await gzip.getJobState({ jobId: 12n });
      expect(fast.calls.size).toBe(call + 1);
      // grpc-js's own call object, not the one the fast path gives an uncompressed call.
      await fast.client.getJobState({ jobId: 13n });
      expect(fast.calls.get(12n)!.constructor.name).not.toBe(fast.calls.get(13n)!.constructor.name);
    } finally {
      gzip.close();
    }
  });

  it("answers many concurrent calls on one connection correctly", async () => {
    const sessions = createPromiseClient(SessionManagementService, `127.0.0.1:${fast.port}`);
    try {
      const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => fast.client.getJobError({ jobId: BigInt(i) })));
      expect(answers.map((a) => a.errorMessage)).toEqual(Array.from({ length: 200 }, (_, i) => `job ${i}`));
      // A service not added on this server: grpc-js's UNIMPLEMENTED.
      await expect(sessions.getSession({})).rejects.toMatchObject({ code: grpc.status.UNIMPLEMENTED });
    } finally {
      sessions.close();
    }
  });
});

describe("the unary fast path on a grpc-js it does not recognise", () => {
  it("changes nothing and says why", () => {
    const server = new grpc.Server();
    const internals = server as unknown as Record<string, unknown>;
    const original = internals["_streamHandler"];
    internals["_channelzHandler"] = undefined;
    expect(installUnaryFastPath(server, new UnaryFastPath(1024))).toMatch(/_channelzHandler/);
    expect(internals["_streamHandler"]).toBe(original);
  });

  it("GrpcServer then warns once and serves every call through grpc-js", async () => {
    const warnings: unknown[] = [];
    const logger = { ...silentLogger(), warn: (...args: unknown[]) => warnings.push(args) } as unknown as Logger;
    const prototype = grpc.Server.prototype as unknown as Record<string, unknown>;
    const saved = prototype["onStreamOpened"];
    prototype["onStreamOpened"] = undefined;
    let server: GrpcServer;
    try {
      server = new GrpcServer({ maxRequestBytes: 1024, logger, readiness: { notServingReason: () => undefined } });
    } finally {
      prototype["onStreamOpened"] = saved;
    }
    expect(warnings).toHaveLength(1);
    expect(JSON.stringify(warnings[0])).toContain("onStreamOpened");
    server.addService(SessionManagementService, { getSession: async () => ({ sessionId: 3n }) });
    const port = await server.bind("127.0.0.1:0");
    const client = createPromiseClient(SessionManagementService, `127.0.0.1:${port}`);
    try {
      expect((await client.getSession({})).sessionId).toBe(3n);
    } finally {
      client.close();
      await server.shutdown(1_000);
    }
  });
});
