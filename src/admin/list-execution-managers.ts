/** `em list`: every execution manager from the database, with its live task instances on this server. */
import type { MessageInitShape } from "@bufbuild/protobuf";
import { invalidArgument } from "../core/errors.ts";
import { listExecutionManagers } from "../db/execution-managers/listExecutionManagers.ts";
import type { ExecutionManagerState } from "../db/schema.ts";
import type { ListExecutionManagersResponseSchema } from "../gen/admin/admin_pb.ts";
import type { AdminHost } from "./admin-host.ts";
import { requireDb } from "./require-ready.ts";
import { liveInstances } from "../service/inspect-engine.ts";

export async function listExecutionManagerInfos(
  host: AdminHost,
  stateFilter: string,
): Promise<MessageInitShape<typeof ListExecutionManagersResponseSchema>> {
  const db = requireDb(host);
  const service = host.service;
  let state: ExecutionManagerState | undefined;
  if (stateFilter !== "") {
    const normalised = stateFilter.toLowerCase();
    if (normalised !== "alive" && normalised !== "dead") throw invalidArgument(`unknown execution manager state "${stateFilter}": expected Alive or Dead`);
    state = normalised === "alive" ? "Alive" : "Dead";
  }
  const rows = await listExecutionManagers(db, state === undefined ? {} : { state });
  const live = new Map<bigint, number>();
  if (service !== undefined) {
    for (const instance of liveInstances(service.engine)) live.set(instance.executionManagerId, (live.get(instance.executionManagerId) ?? 0) + 1);
  }
  const now = Date.now();
  return {
    executionManagers: rows.map((row) => ({
      executionManagerId: row.id,
      ipAddress: row.ipAddress,
      state: row.state,
      lastHeartbeatAtMs: BigInt(row.lastHeartbeatAt.getTime()),
      heartbeatAgeMs: BigInt(Math.max(0, now - row.lastHeartbeatAt.getTime())),
      registeredAtMs: BigInt(row.createdAt.getTime()),
      deathConfirmedAtMs: BigInt(row.deathConfirmedAt?.getTime() ?? 0),
      liveInstances: live.get(row.id) ?? 0,
    })),
  };
}
