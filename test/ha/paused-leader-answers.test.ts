/**
 * A leader whose step-down time has passed must not answer as the leader,
 * even before any of its timers has run (issue 19; found by the Galera
 * failover test: a leader resumed after SIGSTOP while busy handled the
 * requests queued during the pause before its step-down timer, and answered
 * health SERVING beside the new leader). Health, the storage RPC gate and the
 * pool ask the lease first. Here the pause is a jump of the lease's clock, so
 * no timer has fired when the requests arrive (renewals every 20 s: none
 * runs in the few milliseconds the requests take).
 */
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ResourceGroupManagementService, SessionManagementService } from "../../src/gen/storage/storage_pb.ts";
import { createPromiseClient } from "../../src/grpc/adapter.ts";
import { testDatabase } from "../../testkit/test-database.ts";
import { startInProcessServer, type InProcessServer } from "../faults/in-process-server.ts";
import { HealthClientWrapper } from "../../testkit/health-client.ts";

describe("a leader past its step-down time", () => {
  let server: InProcessServer;
  let offsetMs = 0;
  beforeAll(async () => {
    const url = await testDatabase("paused_leader");
    server = await startInProcessServer(
      url,
      {
        SPIDER_STORAGE_RUNTIME__LEASE__TTL_MS: "60000",
        SPIDER_STORAGE_RUNTIME__LEASE__RENEW_INTERVAL_MS: "20000",
        SPIDER_STORAGE_RUNTIME__LEASE__STEP_DOWN_MARGIN_MS: "10000",
        SPIDER_STORAGE_RUNTIME__CONSOLE__ENABLED: "false",
      },
      { leaseClock: () => performance.now() + offsetMs },
    );
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("answers health NOT_SERVING and writes UNAVAILABLE at once, before its step-down timer runs", async () => {
    const health = new HealthClientWrapper(server.address);
    const sessions = createPromiseClient(SessionManagementService, server.address);
    const groups = createPromiseClient(ResourceGroupManagementService, server.address);
    const addGroup = () => groups.addResourceGroup({ externalResourceGroupId: `g-${Math.random()}`, password: new Uint8Array([1]) });
    try {
      // Serving, with open channels: the requests below need no new connection.
      expect(await health.check("")).toBe("SERVING");
      expect((await sessions.getSession({})).sessionId).toBe(server.server.session);
      await addGroup();
      // A pause of a minute, as a process resumed after SIGSTOP sees it.
      offsetMs = 60_000;
      expect(await health.check("")).toBe("NOT_SERVING");
      expect(server.server.phase).toBe("reconnecting");
      // The pool is fenced: nothing is written until a renewal proves the lease is still this server's.
      await expect(addGroup()).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    } finally {
      health.client.close();
      sessions.close();
      groups.close();
    }
  });
});
