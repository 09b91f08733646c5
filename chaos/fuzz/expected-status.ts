/**
 * The status DECISIONS D5 (and the README's API and Limits sections) names
 * for any request bytes sent to any fuzzed method, given what exists:
 *
 * 1. above runtime.limits.max_request_bytes → RESOURCE_EXHAUSTED (grpc-js,
 *    before anything is read);
 * 2. a method without payload above max_control_request_bytes →
 *    INVALID_ARGUMENT naming that key, undecoded;
 * 3. bytes that do not decode as the method's message → INVALID_ARGUMENT
 *    (decoded here with the same protobuf-es call the server makes);
 * 4. otherwise the rule of the method for the decoded fields (below).
 *
 * Ids the fuzz's world does not hold are unknown (the environment starts its
 * counters at 10^12, so a decoded id names a real row only if it is one of
 * the world's). A request naming a job a hostile-order case made is not
 * judged here ("undetermined": its answer depends on that job's history).
 */
import { isIP } from "node:net";
import { fromBinary, type DescMessage } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { DEFAULT_SUBMISSION_LIMITS, validateJobSubmission } from "../../src/core/job-submission.ts";
import { isStorageError } from "../../src/core/errors.ts";
import type { TaskId as ProtoTaskId } from "../../src/gen/common/common_pb.ts";
import { expect, type Expectation } from "./fuzz-case.ts";
import { FUZZ_MAX_CONTROL_REQUEST_BYTES, FUZZ_MAX_REQUEST_BYTES, RESOURCE_GROUP_PASSWORD, type FuzzWorld } from "./fuzz-environment.ts";
import { methodNamed } from "./rpc-methods.ts";

const { OK, INVALID_ARGUMENT, NOT_FOUND, FAILED_PRECONDITION, UNAUTHENTICATED, ALREADY_EXISTS, RESOURCE_EXHAUSTED, DEADLINE_EXCEEDED } = grpc.status;

/** What the oracle knows beyond the fixed world: rows that accepted requests made. */
export interface WorldView extends FuzzWorld {
  /** Jobs made by hostile-order cases (and accepted submissions). */
  readonly knownJobIds: ReadonlySet<bigint>;
  /** Resource group names taken. */
  readonly resourceGroupNames: ReadonlySet<string>;
}

export type Judgement = Expectation | { readonly undetermined: string };

/** The client deadline of a poll, and the waits that must be answered before it. */
export const POLL_DEADLINE_MS = 150;
const POLL_SURELY_ANSWERED_MS = 50;
const MAX_POLL_WAIT_MS = 60_000;

export function pollDeadline(waitMs: bigint): number {
  return POLL_DEADLINE_MS + (waitMs < BigInt(POLL_SURELY_ANSWERED_MS) ? 1_000 : 0);
}

export function expectedForBytes(methodName: string, bytes: Uint8Array, world: WorldView): Judgement {
  const method = methodNamed(methodName);
  if (bytes.length > FUZZ_MAX_REQUEST_BYTES) {
    return expect(RESOURCE_EXHAUSTED, "D5 (issue 17): request above max_request_bytes → RESOURCE_EXHAUSTED from grpc-js");
  }
  if (!method.payload && bytes.length > FUZZ_MAX_CONTROL_REQUEST_BYTES) {
    return expect(INVALID_ARGUMENT, "D5 (issue 17): request of a method without payload above max_control_request_bytes → INVALID_ARGUMENT naming the key", {
      details: /runtime\.limits\.max_control_request_bytes/,
    });
  }
  let message: Record<string, unknown>;
  try {
    message = fromBinary(method.input as DescMessage, bytes) as unknown as Record<string, unknown>;
  } catch {
    return expect(INVALID_ARGUMENT, "README Limits: a request that does not decode as its protobuf message → INVALID_ARGUMENT", { details: /^request is not a valid / });
  }
  return expectedForMessage(methodName, message, world);
}

export function expectedForMessage(methodName: string, m: Record<string, unknown>, world: WorldView): Judgement {
  const jobRule = (jobId: bigint, rule: string): Judgement =>
    world.knownJobIds.has(jobId) ? { undetermined: `job ${jobId} exists` } : expect(NOT_FOUND, rule);
  switch (methodName) {
    case "JobOrchestrationService.RegisterJob":
      return expectedRegisterJob(m["resourceGroupId"] as bigint, m["compressedSerializedTaskGraph"] as Uint8Array, m["compressedSerializedInputs"] as Uint8Array, world);
    case "JobOrchestrationService.StartJob":
    case "JobOrchestrationService.CancelJob":
    case "JobOrchestrationService.GetJobState":
    case "JobOrchestrationService.GetJobOutputs":
    case "JobOrchestrationService.GetJobError":
      return jobRule(m["jobId"] as bigint, "D5: any job RPC on an unknown job → NOT_FOUND");
    case "TaskInstanceManagementService.RegisterTaskInstance":
    case "TaskInstanceManagementService.ReportTaskSuccess":
    case "TaskInstanceManagementService.ReportTaskFailure": {
      const taskId = m["taskId"] as ProtoTaskId | undefined;
      if (taskId === undefined) return expect(INVALID_ARGUMENT, "README API: task-instance RPC with a missing task id → INVALID_ARGUMENT");
      if (taskId.kind.case === undefined) return expect(INVALID_ARGUMENT, "README API: task id with no kind → INVALID_ARGUMENT");
      if (m["sessionId"] !== world.sessionId) return expect(NOT_FOUND, "D5: task-instance RPC with a stale session → NOT_FOUND");
      const jobId = m["jobId"] as bigint;
      if (world.knownJobIds.has(jobId)) return { undetermined: `job ${jobId} exists` };
      return expect(FAILED_PRECONDITION, "D5: task-instance RPC on an unknown job → FAILED_PRECONDITION");
    }
    case "InboundQueueService.PollReadyTasks":
    case "InboundQueueService.PollReadyCommitTasks":
    case "InboundQueueService.PollReadyCleanupTasks": {
      const wait = m["waitMs"] as bigint;
      const effective = wait > BigInt(MAX_POLL_WAIT_MS) ? BigInt(MAX_POLL_WAIT_MS) : wait;
      // The poll answers OK whatever the fields (clamped, never an error); one that may wait longer
      // than the client's deadline is still waiting then unless ready work came (the client gives up).
      return effective < BigInt(POLL_SURELY_ANSWERED_MS)
        ? expect(OK, "D5: poll max_items/wait_ms above the caps are clamped, never an error → OK")
        : expect([OK, DEADLINE_EXCEEDED], "D5: poll → OK (clamped, never an error); a wait longer than the client's deadline ends at the client (DEADLINE_EXCEEDED)");
    }
    case "ResourceGroupManagementService.AddResourceGroup": {
      const name = m["externalResourceGroupId"] as string;
      const password = m["password"] as Uint8Array;
      if (name === "") return expect(INVALID_ARGUMENT, "D5 (issue 17): AddResourceGroup with an empty name → INVALID_ARGUMENT");
      if ([...name].length > 256) return expect(INVALID_ARGUMENT, "README Limits: resource group names are 1–256 characters → INVALID_ARGUMENT");
      if (password.length > 2048) return expect(INVALID_ARGUMENT, "D5 (issue 17): password over 2048 bytes → INVALID_ARGUMENT");
      // utf8mb4_bin is a PAD SPACE collation: trailing spaces do not make a name new.
      if (world.resourceGroupNames.has(name.replace(/ +$/, ""))) return expect(ALREADY_EXISTS, "D5: duplicate resource group → ALREADY_EXISTS");
      return expect(OK, "AddResourceGroup of a new name → OK (a new group)", { mayChangeState: true });
    }
    case "ResourceGroupManagementService.VerifyResourceGroup": {
      const password = m["password"] as Uint8Array;
      if (password.length > 2048) return expect(INVALID_ARGUMENT, "D5 (issue 17): password over 2048 bytes → INVALID_ARGUMENT");
      if (m["resourceGroupId"] === world.resourceGroupId && Buffer.from(password).equals(Buffer.from(RESOURCE_GROUP_PASSWORD))) {
        return expect(OK, "VerifyResourceGroup with the right password → OK");
      }
      return expect(UNAUTHENTICATED, "D5: unknown resource group, wrong password → UNAUTHENTICATED");
    }
    case "ExecutionManagerLivenessService.RegisterExecutionManager": {
      const ip = m["ipAddress"] as string;
      if (ip.length <= 45 && isIP(ip) !== 0 && !ip.includes("%")) {
        return expect(OK, "RegisterExecutionManager with an IP literal → OK (a new execution manager)", { mayChangeState: true });
      }
      return expect(INVALID_ARGUMENT, "README API: RegisterExecutionManager not an IP literal → INVALID_ARGUMENT");
    }
    case "ExecutionManagerLivenessService.UpdateExecutionManagerHeartbeat": {
      const id = m["executionManagerId"] as bigint;
      if (id === world.aliveExecutionManagerId) return expect(OK, "heartbeat of a live execution manager → OK", { mayChangeState: true });
      if (id === world.deadExecutionManagerId) return expect(FAILED_PRECONDITION, "D5: heartbeat of a dead execution manager → FAILED_PRECONDITION");
      return expect(INVALID_ARGUMENT, "D5: heartbeat of an unknown execution manager → INVALID_ARGUMENT");
    }
    case "SchedulerRegistrationService.RegisterScheduler": {
      const host = m["host"] as string;
      const port = m["port"] as number;
      if (host === "") return expect(INVALID_ARGUMENT, "README API: RegisterScheduler with an empty host → INVALID_ARGUMENT");
      if ([...host].length > 255) return expect(INVALID_ARGUMENT, "README Limits: scheduler host over 255 characters → INVALID_ARGUMENT");
      if (port > 65535) return expect(INVALID_ARGUMENT, "README API: RegisterScheduler with port > 65535 → INVALID_ARGUMENT");
      return expect(OK, "RegisterScheduler → OK (replaces the scheduler)", { mayChangeState: true });
    }
    case "SchedulerRegistrationService.GetSchedulers":
    case "SessionManagementService.GetSession":
    case "InspectionService.GetStatus":
    case "InspectionService.GetUsage":
    case "InspectionService.RunDoctor":
      return expect(OK, "a read without arguments → OK");
    case "InspectionService.ListJobs": {
      const pageSize = m["pageSize"] as number;
      if (pageSize > 10_000) return expect(INVALID_ARGUMENT, "admin ListJobs: page size above 10 000 → INVALID_ARGUMENT");
      const states = m["states"] as string[];
      const known = ["ready", "running", "commitready", "cleanupready", "succeeded", "failed", "cancelled"];
      if (states.some((s) => !known.includes(s.toLowerCase()))) return expect(INVALID_ARGUMENT, "admin ListJobs: unknown job state → INVALID_ARGUMENT");
      return expect(OK, "admin ListJobs → OK");
    }
    case "InspectionService.GetJob":
      return jobRule(m["jobId"] as bigint, "admin GetJob on an unknown job → NOT_FOUND");
    case "InspectionService.GetJobPayload": {
      const item = m["item"] as string;
      if (item !== "" && !/^(?:(?:input|output):(?:0|[1-9][0-9]{0,9})|task:(?:0|[1-9][0-9]{0,9}):(?:0|[1-9][0-9]{0,9}))$/.test(item)) {
        return expect(INVALID_ARGUMENT, "admin GetJobPayload: an item that is not input:N, output:N or task:T:N → INVALID_ARGUMENT");
      }
      return jobRule(m["jobId"] as bigint, "admin GetJobPayload on an unknown job → NOT_FOUND");
    }
    case "InspectionService.ListExecutionManagers": {
      const state = (m["state"] as string).toLowerCase();
      if (state === "" || state === "alive" || state === "dead") return expect(OK, "admin ListExecutionManagers → OK");
      return expect(INVALID_ARGUMENT, "admin ListExecutionManagers: unknown state → INVALID_ARGUMENT");
    }
    default:
      throw new Error(`no expectation for ${methodName}`);
  }
}

/** RegisterJob: the submission is validated first (INVALID_ARGUMENT), then the resource group (UNAUTHENTICATED). */
export function expectedRegisterJob(resourceGroupId: bigint, graph: Uint8Array, inputs: Uint8Array, world: WorldView): Expectation {
  try {
    validateJobSubmission(graph, inputs, DEFAULT_SUBMISSION_LIMITS);
  } catch (error) {
    if (!isStorageError(error, "invalid_argument")) throw error;
    return expect(INVALID_ARGUMENT, "D5: malformed submission, zstd bomb, size limit → INVALID_ARGUMENT");
  }
  if (resourceGroupId !== world.resourceGroupId) return expect(UNAUTHENTICATED, "D5: RegisterJob with an unknown resource group → UNAUTHENTICATED");
  return expect(OK, "RegisterJob of a valid submission → OK (a Ready job)", { mayChangeState: true });
}
