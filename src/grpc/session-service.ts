/** SessionManagementService: answers the id of this server lifetime. */
import { SessionManagementService } from "../gen/storage/storage_pb.ts";
import type { GrpcServer } from "./server.ts";

export function addSessionService(server: GrpcServer, currentSession: () => bigint): void {
  server.addService(SessionManagementService, {
    getSession: async () => ({ sessionId: currentSession() }),
  });
}
