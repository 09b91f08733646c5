/**
 * Handlers of JobOrchestrationService where only GetJobState does anything
 * (the given function); every other method throws. For tests of the gRPC
 * layer itself (streams, connections), which need one real method to call.
 */
import type { JobOrchestrationService } from "../src/gen/storage/storage_pb.ts";
import type { ServiceHandlers } from "../src/grpc/adapter.ts";

type Handlers = ServiceHandlers<(typeof JobOrchestrationService)["method"]>;

export function getJobStateOnly(getJobState: Handlers["getJobState"]): Handlers {
  const never = async (): Promise<never> => {
    throw new Error("not used");
  };
  return { getJobState, registerJob: never, startJob: never, cancelJob: never, getJobOutputs: never, getJobError: never };
}
