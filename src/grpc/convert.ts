/**
 * Conversions between protobuf messages and the core's types, with the request
 * checks Spider's unpacking does (spec §1.3): a missing task id, a task id with
 * no kind, an index that cannot name a task.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import { invalidArgument } from "../core/errors.ts";
import { CLEANUP_TASK, COMMIT_TASK, taskIndexFromWire, type TaskId } from "../core/ids.ts";
import type { JobState } from "../core/job-state.ts";
import type { TaskId as ProtoTaskId, TaskIdSchema } from "../gen/common/common_pb.ts";
import { JobState as ProtoJobState } from "../gen/storage/storage_pb.ts";

export function taskIdFromProto(message: ProtoTaskId | undefined): TaskId {
  if (message === undefined) throw invalidArgument("task ID is missing");
  switch (message.kind.case) {
    case "index":
      return taskIndexFromWire(message.kind.value);
    case "commit":
      return COMMIT_TASK;
    case "cleanup":
      return CLEANUP_TASK;
    default:
      throw invalidArgument("task id missing kind");
  }
}

export function taskIdToProto(id: TaskId): MessageInitShape<typeof TaskIdSchema> {
  switch (id.kind) {
    case "index":
      return { kind: { case: "index", value: BigInt(id.index) } };
    case "commit":
      return { kind: { case: "commit", value: {} } };
    case "cleanup":
      return { kind: { case: "cleanup", value: {} } };
  }
}

const PROTO_OF_STATE: Record<JobState, ProtoJobState> = {
  Ready: ProtoJobState.READY,
  Running: ProtoJobState.RUNNING,
  CommitReady: ProtoJobState.COMMIT_READY,
  CleanupReady: ProtoJobState.CLEANUP_READY,
  Succeeded: ProtoJobState.SUCCEEDED,
  Failed: ProtoJobState.FAILED,
  Cancelled: ProtoJobState.CANCELLED,
};

export function jobStateToProto(state: JobState): ProtoJobState {
  return PROTO_OF_STATE[state];
}
