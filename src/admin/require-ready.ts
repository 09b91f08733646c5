/**
 * What an admin call needs from the server, or UNAVAILABLE saying what the
 * server is doing: the engine exists once the session is allocated and is
 * whole once the server serves (after recovery); the pool exists once the
 * server has connected.
 */
import { unavailable } from "../core/errors.ts";
import type { Db } from "../db/connection.ts";
import type { StorageService } from "../service/storage-service.ts";
import type { AdminHost } from "./admin-host.ts";

export function requireServing(host: AdminHost): StorageService {
  const service = host.service;
  if (service === undefined || host.phase !== "serving") throw unavailable(`server not ready (phase: ${host.phase})`);
  return service;
}

export function requireDb(host: AdminHost): Db {
  const db = host.db;
  if (db === undefined || host.phase === "stopping" || host.phase === "stopped") {
    throw unavailable(`server has no database connection (phase: ${host.phase})`);
  }
  return db;
}

/** The database pool the engine writes through (the repairs need the operator's transitions). */
export function requireServiceDb(host: AdminHost): { service: StorageService; db: Db } {
  const service = requireServing(host);
  return { service, db: requireDb(host) };
}
