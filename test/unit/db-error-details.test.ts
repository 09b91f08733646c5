/**
 * Database driver messages name users, hosts and addresses; the callers that
 * see a StorageError's message (any gRPC client, authenticated or not) get
 * the error's class and code only. The driver's error stays the cause, for
 * the server's own logs.
 */
import { describe, expect, it } from "vitest";
import { toStorageError } from "../../src/db/db-errors.ts";

const driverError = (fields: { errno?: number; code?: string; message: string }) => Object.assign(new Error(fields.message), fields);

describe("toStorageError", () => {
  const write = { operation: "insertJob", phase: "write" as const };
  const cases = [
    driverError({ errno: 1045, code: "ER_ACCESS_DENIED_ERROR", message: "Access denied for user 'spider'@'10.1.2.3' (using password: YES)" }),
    driverError({ code: "ECONNREFUSED", message: "connect ECONNREFUSED 10.1.2.3:3306" }),
    driverError({ code: "ETIMEDOUT", message: "connect ETIMEDOUT db-primary.internal.example:3306" }),
    driverError({ errno: 1049, code: "ER_BAD_DB_ERROR", message: "Unknown database 'spider_prod_secret'" }),
    driverError({ errno: 1064, code: "ER_PARSE_ERROR", message: "You have an error in your SQL syntax near 'secret' at line 1" }),
    driverError({ code: "PROTOCOL_CONNECTION_LOST", message: "Connection lost: The server closed the connection. (10.1.2.3)" }),
  ];

  it.each(cases.map((error) => [error.code, error] as const))("never puts the driver's message into what callers see (%s)", (code, error) => {
    const storageError = toStorageError(error, write);
    expect(storageError.message).toContain(code);
    for (const secret of ["10.1.2.3", "spider'@", "db-primary", "spider_prod_secret", "secret"]) {
      expect(storageError.message).not.toContain(secret);
    }
    expect(storageError.cause).toBe(error);
  });
});

describe("toStorageError of our own statement timeout", () => {
  it("keeps its message, which names the setting", async () => {
    const { statementTimeoutError } = await import("../../src/db/statement-timeout.ts");
    const error = toStorageError(statementTimeoutError(300), { operation: "getJobState 1", phase: "read" });
    expect(error.message).toContain("statement timed out after 300 ms (runtime.db.statement_timeout_ms)");
  });
});
