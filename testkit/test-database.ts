/**
 * `testDatabase()`: a fresh database of the run's shared MariaDB for one test
 * file (or one test), so files never see each other's rows.
 */
import { randomBytes } from "node:crypto";
import { inject } from "vitest";
import { createDatabase } from "./mariadb.ts";

export function testServerUrl(): string {
  return inject("mariadbServerUrl");
}

/** Creates a uniquely named database and returns its `mysql://` URL. */
export async function testDatabase(prefix = "t"): Promise<string> {
  return createDatabase(testServerUrl(), `${prefix}_${randomBytes(5).toString("hex")}`);
}
