/**
 * The ordered list of migrations. A static list (not a directory scan) so the
 * server knows at build time which schema version it speaks, and so a schema
 * newer than the code can be detected and refused.
 */
import type { Migration } from "kysely/migration";
import * as m0001 from "./0001_create_sessions.ts";
import * as m0002 from "./0002_create_resource_groups.ts";
import * as m0003 from "./0003_create_jobs.ts";
import * as m0004 from "./0004_create_execution_managers.ts";
import * as m0005 from "./0005_create_schedulers.ts";
import * as m0006 from "./0006_create_task_checkpoints.ts";
import * as m0007 from "./0007_create_leader_fence.ts";

export const MIGRATIONS: Record<string, Migration> = {
  "0001_create_sessions": m0001,
  "0002_create_resource_groups": m0002,
  "0003_create_jobs": m0003,
  "0004_create_execution_managers": m0004,
  "0005_create_schedulers": m0005,
  "0006_create_task_checkpoints": m0006,
  "0007_create_leader_fence": m0007,
};
