/**
 * servesOnly (src/cli/serves-only.ts): which command lines may skip loading
 * the other commands. A wrong "true" would hide a command, so every doubtful
 * form must answer false.
 */
import { describe, expect, it } from "vitest";
import { servesOnly } from "../../../src/cli/serves-only.ts";

describe("servesOnly", () => {
  it.each([
    [[]],
    [["serve"]],
    [["--config", "storage.yaml"]],
    [["-c", "jobs"]], // the value of -c, not a command
    [["--database-url", "mysql://h/db", "serve", "--port", "50052"]],
    [["serve", "--host", "0.0.0.0", "--no-migrate"]],
    [["--log-format=json", "serve"]],
  ])("%j only serves", (args) => {
    expect(servesOnly(args)).toBe(true);
  });

  it.each([
    [["status"]],
    [["jobs", "list"]],
    [["--server", "h:1", "status"]],
    [["--help"]],
    [["serve", "--help"]],
    [["-V"]],
    [["help", "serve"]],
    [["bogus"]],
    [["--", "serve"]],
  ])("%j needs the whole program", (args) => {
    expect(servesOnly(args)).toBe(false);
  });
});
