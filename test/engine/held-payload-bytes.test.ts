/**
 * Bytes a cached job holds are the bytes it counts (issue #16, likely item):
 * task outputs arrive as views into the whole gRPC request, job inputs as
 * views into the whole decompressed payload; kept as views they would pin
 * those buffers while only their own lengths are counted against the limits.
 */
import { describe, expect, it } from "vitest";
import { BYTES, TaskGraphBuilder } from "../../testkit/task-graph-builder.ts";
import { encodeWireFrame } from "../../src/core/wire-frame.ts";
import { Harness } from "./helpers/harness.ts";
import { STORE_KINDS, storeFixture } from "./helpers/stores.ts";

for (const storeKind of STORE_KINDS) {
  describe(`held payload bytes (${storeKind} store)`, () => {
    const fixture = storeFixture(storeKind);

    it("a job keeps copies of its inputs and of task outputs reported inside a larger request, so held bytes equal counted bytes", async () => {
      const h = await Harness.create(fixture.store);
      const builder = new TaskGraphBuilder()
        .task({ inputs: [BYTES, BYTES], outputs: [BYTES] })
        .task({ outputs: [BYTES], sources: [[0, 0]] });
      const { jobId } = await h.submitAndStart(builder, [new Uint8Array(100).fill(1), new Uint8Array(200).fill(2)]);
      const jcb = h.service.cache.get(jobId)!;
      expect(jcb.heldPayloadBytes).toBe(300);
      expect(jcb.retainedPayloadBytes()).toBe(jcb.heldPayloadBytes);

      // The outputs frame sits in the middle of a 1 MiB "request".
      const frame = encodeWireFrame([new Uint8Array(50).fill(3)]);
      const request = new Uint8Array(1024 * 1024);
      request.set(frame, 4096);
      const instance = await h.register(jobId, 0);
      expect(await h.succeed(jobId, 0, instance.taskInstanceId, request.subarray(4096, 4096 + frame.length))).toBe("Running");
      expect(jcb.heldPayloadBytes).toBe(350);
      expect(jcb.retainedPayloadBytes()).toBe(jcb.heldPayloadBytes);
      await h.close();
    });
  });
}
