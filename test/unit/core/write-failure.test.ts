/**
 * The one classification of failed database writes (src/core/errors.ts
 * classifyWriteFailure) that the job control block and the checkpoint writer
 * both follow, fed with the errors src/db really produces; and the cutting of
 * over-long error messages.
 */
import { describe, expect, it } from "vitest";
import { truncateMessage } from "../../../src/cache/truncate-message.ts";
import { classifyWriteFailure, failedPrecondition, internal, notFound } from "../../../src/core/errors.ts";
import { toStorageError } from "../../../src/db/db-errors.ts";

const driverError = (fields: { errno?: number; code?: string; message?: string }) => Object.assign(new Error(fields.message ?? "driver"), fields);

describe("classifyWriteFailure", () => {
  it("tells an unreachable database, an unknown outcome, a refusal and a failure that would repeat apart", () => {
    const write = { operation: "transitionJob 1 to Succeeded", phase: "write" as const };
    const commit = { operation: "transitionJob 1 to Failed", phase: "commit" as const };
    expect(classifyWriteFailure(toStorageError(driverError({ code: "ECONNREFUSED" }), write))).toBe("unreachable");
    expect(classifyWriteFailure(toStorageError(driverError({ errno: 1213, code: "ER_LOCK_DEADLOCK" }), write))).toBe("unreachable");
    expect(classifyWriteFailure(toStorageError(driverError({ code: "PROTOCOL_CONNECTION_LOST" }), commit))).toBe("outcome_unknown");
    expect(classifyWriteFailure(toStorageError(driverError({ code: "PROTOCOL_CONNECTION_LOST" }), write))).toBe("outcome_unknown");
    expect(classifyWriteFailure(failedPrecondition("job in state CleanupReady, expected Running"))).toBe("refused");
    expect(classifyWriteFailure(notFound("job not found"))).toBe("refused");
    expect(classifyWriteFailure(toStorageError(driverError({ errno: 1153, code: "ER_NET_PACKET_TOO_LARGE" }), write))).toBe("will_repeat");
    expect(classifyWriteFailure(toStorageError(driverError({ errno: 1406, code: "ER_DATA_TOO_LONG" }), write))).toBe("will_repeat");
    expect(classifyWriteFailure(internal("updating the locked row changed 0 rows"))).toBe("will_repeat");
    // Not from src/db at all: nothing is known about what happened.
    expect(classifyWriteFailure(new Error("socket hang up"))).toBe("outcome_unknown");
  });
});

describe("truncateMessage", () => {
  it("keeps a message that fits and cuts one that does not on a character boundary, saying how long it was", () => {
    expect(truncateMessage("short", 100)).toBe("short");
    const long = "é".repeat(1000); // 2 000 bytes of UTF-8
    const cut = truncateMessage(long, 500);
    expect(new TextEncoder().encode(cut).length).toBeLessThanOrEqual(500);
    expect(cut).toMatch(/^é+ … \[truncated: 2000 bytes, 500 kept\]$/);
  });
});
