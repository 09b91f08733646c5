/**
 * The port bound before the server's modules load (src/grpc/early-listener.ts)
 * and adopted by the gRPC server (GrpcServer.adopt), over real loopback
 * connections: a call made while the port is only held is answered once the
 * server takes it, in plaintext and over TLS; a client that resets while held
 * harms nothing; close() refuses and closes; a port in use is refused.
 */
import * as grpc from "@grpc/grpc-js";
import { readFileSync, rmSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SessionManagementService } from "../../src/gen/storage/storage_pb.ts";
import { createPromiseClient } from "../../src/grpc/adapter.ts";
import { EarlyListener } from "../../src/grpc/early-listener.ts";
import { GrpcServer } from "../../src/grpc/server.ts";
import { silentLogger } from "../../src/observability/logger.ts";
import { waitFor } from "../../testkit/wait-for.ts";
import { generatePki, type TestPki } from "../operability/helpers.ts";

function sessionServer(): GrpcServer {
  const server = new GrpcServer({ maxRequestBytes: 1 << 20, logger: silentLogger(), readiness: { notServingReason: () => undefined } });
  server.addService(SessionManagementService, { getSession: async () => ({ sessionId: 7n }) });
  return server;
}

function rawConnection(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port }, () => resolve(socket));
    socket.once("error", reject);
  });
}

describe("a port bound early, adopted by the gRPC server", () => {
  let pki: TestPki;
  const cleanup: (() => Promise<void> | void)[] = [];
  beforeAll(() => {
    pki = generatePki();
  });
  afterAll(async () => {
    for (const step of cleanup.reverse()) await step();
    rmSync(pki.dir, { recursive: true, force: true });
  });

  for (const tls of [false, true]) {
    it(`answers a call made while the port was only held, once the server takes it (${tls ? "TLS" : "plaintext"})`, async () => {
      const listener = await EarlyListener.listen("127.0.0.1", 0);
      cleanup.push(() => listener.close());
      const client = createPromiseClient(
        SessionManagementService,
        `127.0.0.1:${listener.port}`,
        tls ? grpc.credentials.createSsl(readFileSync(pki.caCert)) : undefined,
      );
      cleanup.push(() => client.close());
      let answered = false;
      const call = client.getSession({}, { deadlineMs: 20_000 }).then((response) => {
        answered = true;
        return response;
      });
      // The connection has arrived and waits: nothing can answer it yet.
      await waitFor("the connection to be held", () => listener.held === 1);
      expect(answered).toBe(false);

      const server = sessionServer();
      cleanup.push(() => server.shutdown(1_000));
      const credentials = tls
        ? grpc.ServerCredentials.createSsl(null, [{ private_key: readFileSync(pki.serverKey), cert_chain: readFileSync(pki.serverCert) }])
        : undefined;
      expect(server.adopt(listener, credentials)).toBe(listener.port);
      expect(listener.held).toBe(0);
      expect((await call).sessionId).toBe(7n);
      // Later connections go straight to the server.
      const second = createPromiseClient(SessionManagementService, `127.0.0.1:${listener.port}`, tls ? grpc.credentials.createSsl(readFileSync(pki.caCert)) : undefined, {
        "grpc.use_local_subchannel_pool": 1,
      });
      cleanup.push(() => second.close());
      expect((await second.getSession({}, { deadlineMs: 20_000 })).sessionId).toBe(7n);
    });
  }

  it("drops a held client that resets its connection, and serves the next one", async () => {
    const listener = await EarlyListener.listen("127.0.0.1", 0);
    cleanup.push(() => listener.close());
    const socket = await rawConnection(listener.port);
    await waitFor("the connection to be held", () => listener.held === 1);
    socket.resetAndDestroy(); // ECONNRESET on the held socket: heard, not thrown
    await waitFor("the reset connection to be dropped", () => listener.held === 0);

    const server = sessionServer();
    cleanup.push(() => server.shutdown(1_000));
    server.adopt(listener);
    const client = createPromiseClient(SessionManagementService, `127.0.0.1:${listener.port}`);
    cleanup.push(() => client.close());
    expect((await client.getSession({}, { deadlineMs: 20_000 })).sessionId).toBe(7n);
  });

  it("close() closes the held connections and refuses new ones", async () => {
    const listener = await EarlyListener.listen("127.0.0.1", 0);
    const socket = await rawConnection(listener.port);
    const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
    await waitFor("the connection to be held", () => listener.held === 1);
    listener.close();
    await closed;
    expect(listener.held).toBe(0);
    await expect(rawConnection(listener.port)).rejects.toMatchObject({ code: "ECONNREFUSED" });
    listener.close(); // twice: nothing
  });

  it("refuses a port that is in use, with EADDRINUSE", async () => {
    const first = await EarlyListener.listen("127.0.0.1", 0);
    cleanup.push(() => first.close());
    await expect(EarlyListener.listen("127.0.0.1", first.port)).rejects.toMatchObject({ code: "EADDRINUSE" });
  });
});
