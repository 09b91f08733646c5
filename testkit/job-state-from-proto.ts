/** A job state as the wire carries it, read back by a test client (the server only ever encodes them). */
import type { JobState } from "../src/core/job-state.ts";
import { JobState as ProtoJobState } from "../src/gen/storage/storage_pb.ts";
import { jobStateToProto } from "../src/grpc/convert.ts";

const STATES: readonly JobState[] = ["Ready", "Running", "CommitReady", "CleanupReady", "Succeeded", "Failed", "Cancelled"];

export function jobStateFromProto(state: ProtoJobState): JobState {
  const found = STATES.find((name) => jobStateToProto(name) === state);
  if (found === undefined) throw new Error(`unknown job state ${state}`);
  return found;
}
