/**
 * The ordered list of migrations. A static list (not a directory scan) so the
 * server knows at build time which schema version it speaks, and so a schema
 * newer than the code can be detected and refused.
 */
import type { Migration } from "kysely/migration";
import * as m0001 from "./0001_create_sessions.ts";

export const MIGRATIONS: Record<string, Migration> = {
  "0001_create_sessions": m0001,
};
