/**
 * The gRPC server's per-connection bound on calls in flight
 * (runtime.limits.max_concurrent_streams, HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS),
 * over real loopback gRPC: the calls beyond it wait at the client until one ends.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JobOrchestrationService, JobState } from "../../src/gen/storage/storage_pb.ts";
import { createPromiseClient } from "../../src/grpc/adapter.ts";
import { GrpcServer } from "../../src/grpc/server.ts";
import { silentLogger } from "../../src/observability/logger.ts";
import { getJobStateOnly } from "../../testkit/get-job-state-service.ts";

describe("max_concurrent_streams", () => {
  let server: GrpcServer;
  let address: string;
  let running = 0;
  const started: bigint[] = [];
  const releases: (() => void)[] = [];
  let onStart: (() => void) | undefined;

  beforeAll(async () => {
    server = new GrpcServer({ maxRequestBytes: 1 << 20, maxConcurrentStreams: 2, logger: silentLogger(), readiness: { notServingReason: () => undefined } });
    server.addService(
      JobOrchestrationService,
      getJobStateOnly(async (request) => {
        running++;
        started.push(request.jobId);
        onStart?.();
        await new Promise<void>((resolve) => releases.push(resolve));
        running--;
        return { state: JobState.RUNNING };
      }),
    );
    address = `127.0.0.1:${await server.bind("127.0.0.1:0")}`;
  });
  afterAll(async () => server?.shutdown(1_000));

  const waitForStarts = (count: number) =>
    new Promise<void>((resolve) => {
      const check = () => {
        if (started.length >= count) resolve();
      };
      onStart = check;
      check();
    });

  it("runs at most that many calls of one connection at once; the next starts when one ends", async () => {
    const client = createPromiseClient(JobOrchestrationService, address);
    try {
      const calls = [1n, 2n, 3n].map((jobId) => client.getJobState({ jobId }));
      await waitForStarts(2);
      // A round trip on a second connection: had the third call been let through, it would have started by now.
      const other = createPromiseClient(JobOrchestrationService, address, undefined, { "grpc.use_local_subchannel_pool": 1 });
      const probe = other.getJobState({ jobId: 99n });
      await waitForStarts(3); // the probe (its own connection) starts
      expect(started).toContain(99n);
      expect(started.filter((id) => id <= 3n)).toHaveLength(2);
      expect(running).toBe(3);
      releases.shift()!(); // one call of the first connection ends: the held one starts
      await waitForStarts(4);
      expect(started.filter((id) => id <= 3n).sort()).toEqual([1n, 2n, 3n]);
      while (releases.length > 0) releases.shift()!();
      await Promise.all([...calls, probe]);
      other.close();
    } finally {
      client.close();
    }
  });
});
