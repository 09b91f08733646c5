/**
 * node:http2's table of a session's open streams is replaced by a fresh copy
 * every RENEW_EVERY_STREAMS streams (src/grpc/http2-stream-tables.ts), over
 * real loopback HTTP/2 and gRPC: the copy holds the streams still open, which
 * complete normally, and a session closed after renewals ends its open
 * streams as before. A session that does not look as expected is left alone
 * and named.
 */
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JobOrchestrationService, JobState } from "../../src/gen/storage/storage_pb.ts";
import { createPromiseClient } from "../../src/grpc/adapter.ts";
import { GrpcServer } from "../../src/grpc/server.ts";
import { http2StreamTableRenewal, RENEW_EVERY_STREAMS, renewHttp2StreamTables, renewStreamTable } from "../../src/grpc/http2-stream-tables.ts";
import { silentLogger } from "../../src/observability/logger.ts";
import { getJobStateOnly } from "../../testkit/get-job-state-service.ts";

/** The session's current table of open streams, found as the renewal finds it. */
function streamTable(session: http2.Http2Session): Map<number, unknown> {
  const key = Object.getOwnPropertySymbols(session).find((k) => k.description === "state")!;
  return (session as unknown as Record<symbol, { streams: Map<number, unknown> }>)[key]!.streams;
}

describe("HTTP/2 stream tables, node:http2 directly", () => {
  let server: http2.Http2Server;
  let port: number;
  const sessions: http2.ServerHttp2Session[] = [];
  /** Streams whose answer waits for the test. */
  const held: (() => void)[] = [];

  beforeAll(async () => {
    renewHttp2StreamTables({ onUnsupported: (reason) => expect.fail(`unsupported: ${reason}`) });
    server = http2.createServer();
    server.on("session", (session) => sessions.push(session));
    server.on("stream", (stream, headers) => {
      const answer = () => {
        if (stream.closed) return;
        stream.respond({ ":status": 200 });
        stream.end(String(headers[":path"]));
      };
      if (String(headers[":path"]).startsWith("/hold")) held.push(answer);
      else answer();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  function request(client: http2.ClientHttp2Session, path: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const req = client.request({ ":path": path });
      let body = "";
      req.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
      req.on("end", () => resolve(body));
      req.on("error", reject);
      req.end();
    });
  }

  it("replaces a session's table every RENEW_EVERY_STREAMS streams, keeping the open streams, which then complete", async () => {
    const client = http2.connect(`http://127.0.0.1:${port}`);
    try {
      const before = http2StreamTableRenewal().renewals;
      const heldAnswers = Array.from({ length: 10 }, (_, i) => request(client, `/hold/${i}`));
      while (held.length < 10) await new Promise((r) => setImmediate(r));
      const session = sessions.at(-1)!;
      const tableBefore = streamTable(session);
      for (let i = 0; i < 2 * RENEW_EVERY_STREAMS; i++) expect(await request(client, `/pass/${i}`)).toBe(`/pass/${i}`);
      expect(http2StreamTableRenewal()).toEqual({ active: true, renewals: before + 2 });
      const tableAfter = streamTable(session);
      expect(tableAfter).not.toBe(tableBefore);
      expect(tableAfter.size).toBe(10); // the held streams, carried over
      for (const answer of held.splice(0)) answer();
      expect(await Promise.all(heldAnswers)).toEqual(Array.from({ length: 10 }, (_, i) => `/hold/${i}`));
      expect(streamTable(session).size).toBe(0);
    } finally {
      client.close();
    }
  });

  it("closes a session's open streams when the session is destroyed after renewals", async () => {
    const client = http2.connect(`http://127.0.0.1:${port}`);
    const before = http2StreamTableRenewal().renewals;
    const heldAnswers = Array.from({ length: 3 }, (_, i) => request(client, `/hold/late-${i}`).then(() => "answered", () => "failed"));
    while (held.length < 3) await new Promise((r) => setImmediate(r));
    for (let i = 0; i < RENEW_EVERY_STREAMS; i++) await request(client, `/pass/${i}`);
    expect(http2StreamTableRenewal().renewals).toBe(before + 1);
    const session = sessions.at(-1)!;
    session.destroy();
    // Each held stream ends (no hang): it failed or saw an empty end.
    const outcomes = await Promise.all(heldAnswers);
    expect(outcomes).toHaveLength(3);
    expect(session.destroyed).toBe(true);
    held.length = 0;
    client.destroy();
  });

  it("leaves a session that does not look like node:http2's alone, and says why", () => {
    expect(renewStreamTable({})).toBe("an HTTP/2 session has no state symbol");
    expect(renewStreamTable({ [Symbol("state")]: { streams: [] } })).toBe("an HTTP/2 session's state has no streams Map");
    const streams = new Map([[1, "open"]]);
    const state = { streams };
    expect(renewStreamTable({ [Symbol("state")]: state })).toBeUndefined();
    expect(state.streams).not.toBe(streams);
    expect([...state.streams]).toEqual([[1, "open"]]);
  });
});

describe("HTTP/2 stream tables, through the gRPC server", () => {
  let server: GrpcServer;
  let address: string;

  beforeAll(async () => {
    server = new GrpcServer({ maxRequestBytes: 1 << 20, logger: silentLogger(), readiness: { notServingReason: () => undefined } });
    server.addService(
      JobOrchestrationService,
      getJobStateOnly(async (request) => ({ state: request.jobId % 2n === 0n ? JobState.RUNNING : JobState.SUCCEEDED })),
    );
    address = `127.0.0.1:${await server.bind("127.0.0.1:0")}`;
  });

  afterAll(async () => {
    await server.shutdown(1_000);
  });

  it("answers every call of a connection across renewals (32 at a time)", async () => {
    const client = createPromiseClient(JobOrchestrationService, address);
    try {
      const before = http2StreamTableRenewal().renewals;
      const ids = Array.from({ length: 10 * RENEW_EVERY_STREAMS }, (_, i) => BigInt(i));
      for (let i = 0; i < ids.length; i += 32) {
        const batch = ids.slice(i, i + 32);
        const states = await Promise.all(batch.map((jobId) => client.getJobState({ jobId })));
        expect(states.map((s) => s.state)).toEqual(batch.map((id) => (id % 2n === 0n ? JobState.RUNNING : JobState.SUCCEEDED)));
      }
      expect(http2StreamTableRenewal().renewals - before).toBe(10);
    } finally {
      client.close();
    }
  });
});
