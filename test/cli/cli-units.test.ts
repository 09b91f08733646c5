/** The CLI's small pure parts: argument parsers, output formatting, the admin API's caller checks. */
import { describe, expect, it } from "vitest";
import { isLoopbackHost } from "../../src/admin/admin-credentials.ts";
import { peerHost } from "../../src/grpc/admin-auth.ts";
import { parseDuration, parseId } from "../../src/cli/arguments.ts";
import { formatBytes, formatDuration, renderTable, toJsonValue } from "../../src/cli/output.ts";
import { parsePayloadSelector } from "../../src/admin/job-payload.ts";

describe("CLI units", () => {
  it("parses durations and ids, refusing anything else", () => {
    expect(parseDuration("90")).toBe(90_000);
    expect(parseDuration("250ms")).toBe(250);
    expect(parseDuration("15m")).toBe(900_000);
    expect(parseDuration("7d")).toBe(604_800_000);
    expect(parseDuration("1.5h")).toBe(5_400_000);
    expect(() => parseDuration("soon")).toThrow(/expected a duration/);
    expect(parseId("job id")("18446744073709551615")).toBe(18446744073709551615n);
    expect(() => parseId("job id")("18446744073709551616")).toThrow(/out of range/);
    expect(() => parseId("job id")("0")).toThrow(/out of range/);
    expect(() => parseId("job id")("-3")).toThrow(/decimal number/);
  });

  it("formats sizes, durations, tables and JSON (bigints as strings)", () => {
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(1536)).toBe("1.5 KiB");
    expect(formatDuration(42)).toBe("42 ms");
    expect(formatDuration(3_723_000)).toBe("1 h 2 m");
    expect(formatDuration(90_061_000)).toBe("1 d 1 h");
    expect(renderTable(["A", "N"], [["x", 1], ["yy", 100n]])).toBe("A     N\nx     1\nyy  100");
    expect(toJsonValue({ $typeName: "x", id: 5n, data: new Uint8Array([1, 2]), list: [7n] })).toEqual({ id: "5", data: "AQI=", list: ["7"] });
  });

  it("tells loopback callers from others", () => {
    expect(peerHost("127.0.0.1:5000")).toBe("127.0.0.1");
    expect(peerHost("::1:5000")).toBe("::1");
    expect(peerHost("[::1]:5000")).toBe("::1");
    expect(peerHost("::ffff:127.0.0.1:5000")).toBe("::ffff:127.0.0.1");
    for (const host of ["127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"]) expect(isLoopbackHost(host), host).toBe(true);
    for (const host of ["192.0.2.2", "10.0.0.1", "::", "fd00::2", "unknown", "::ffff:10.0.0.1"]) expect(isLoopbackHost(host), host).toBe(false);
  });

  it("parses payload item names", () => {
    expect(parsePayloadSelector("input:0")).toEqual({ kind: "input", position: 0 });
    expect(parsePayloadSelector("task:12:3")).toEqual({ kind: "task-output", taskIndex: 12, position: 3 });
    expect(() => parsePayloadSelector("task:1")).toThrow(/invalid payload item/);
    expect(() => parsePayloadSelector("output:01")).toThrow(/invalid payload item/);
  });
});
