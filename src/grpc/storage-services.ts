/**
 * The seven services of Spider's storage protocol on one server. Each handler
 * only decodes the request, calls the use case of src/service, and encodes the
 * answer; status codes come from the single mapping in status.ts.
 */
import * as grpc from "@grpc/grpc-js";
import { invalidArgument } from "../core/errors.ts";
import {
  ExecutionManagerLivenessService,
  InboundQueueService,
  JobOrchestrationService,
  ResourceGroupManagementService,
  SchedulerRegistrationService,
  SessionManagementService,
  TaskInstanceManagementService,
  type PollReadyTasksRequest,
} from "../gen/storage/storage_pb.ts";
import { addResourceGroup } from "../service/add-resource-group.ts";
import { cancelJob } from "../service/cancel-job.ts";
import { getJobError } from "../service/get-job-error.ts";
import { getJobOutputs } from "../service/get-job-outputs.ts";
import { getJobState } from "../service/get-job-state.ts";
import { getSchedulers } from "../service/get-schedulers.ts";
import { heartbeatExecutionManager } from "../service/heartbeat-execution-manager.ts";
import { pollReadyTasks, returnUndeliveredTasks, type Lane } from "../service/poll-ready-tasks.ts";
import { registerExecutionManager } from "../service/register-execution-manager.ts";
import { registerJob } from "../service/register-job.ts";
import { registerScheduler } from "../service/register-scheduler.ts";
import { registerTaskInstance } from "../service/register-task-instance.ts";
import { reportTaskFailure } from "../service/report-task-failure.ts";
import { reportTaskSuccess } from "../service/report-task-success.ts";
import { startJob } from "../service/start-job.ts";
import { verifyResourceGroup } from "../service/verify-resource-group.ts";
import type { StorageService } from "../service/storage-service.ts";
import { jobStateToProto, taskIdFromProto, taskIdToProto } from "./convert.ts";
import type { GrpcServer } from "./server.ts";

/**
 * Aborts when the caller cancels or its deadline passes, so a poll can give
 * its entries back and a registration can be withdrawn.
 */
function callSignal(call: grpc.ServerUnaryCall<unknown, unknown>): AbortSignal {
  const controller = new AbortController();
  // A made reason: abort() without one builds a DOMException with a stack, and
  // grpc-js reports "cancelled" at the end of many an answered call too.
  call.once("cancelled", () => controller.abort(CALLER_GONE));
  return controller.signal;
}

const CALLER_GONE = Object.freeze({ name: "CallerGone", message: "the caller cancelled or its deadline passed" });

export function addStorageServices(server: GrpcServer, serviceOf: () => StorageService): void {
  // A getter, because the services are added when the port is bound and the
  // engine exists only once the session is allocated; calls before that are
  // refused by the server's readiness gate.
  const service = serviceOf;
  // Only RegisterJob and the task reports carry payloads up to max_request_bytes;
  // every other request is capped far lower (max_control_request_bytes, server.ts).
  server.addService(JobOrchestrationService, {
    registerJob: async (request) => ({
      jobId: await registerJob(service().engine, {
        resourceGroupId: request.resourceGroupId,
        compressedTaskGraph: request.compressedSerializedTaskGraph,
        compressedInputs: request.compressedSerializedInputs,
      }),
    }),
    startJob: async (request) => ({ state: jobStateToProto(await startJob(service().engine, request.jobId)) }),
    cancelJob: async (request) => ({ state: jobStateToProto(await cancelJob(service().engine, request.jobId)) }),
    getJobState: async (request) => ({ state: jobStateToProto(await getJobState(service().engine, request.jobId)) }),
    getJobOutputs: async (request) => ({ serializedOutputs: await getJobOutputs(service().engine, request.jobId) }),
    getJobError: async (request) => ({ errorMessage: await getJobError(service().engine, request.jobId) }),
  }, { payloadMethods: ["registerJob"] });

  server.addService(TaskInstanceManagementService, {
    registerTaskInstance: async (request, call) => {
      const context = await registerTaskInstance(service().engine, {
        sessionId: request.sessionId,
        jobId: request.jobId,
        taskId: taskIdFromProto(request.taskId),
        executionManagerId: request.executionManagerId,
        signal: callSignal(call),
      });
      return {
        executionContext: {
          taskInstanceId: context.taskInstanceId,
          tdlContext: { package: context.tdlContext.package, taskFunc: context.tdlContext.taskFunc },
          timeoutPolicy: {
            softTimeoutMs: BigInt(context.timeoutPolicy.softTimeoutMs),
            hardTimeoutMs: BigInt(context.timeoutPolicy.hardTimeoutMs),
          },
          serializedTaskIo: context.serializedTaskIo,
        },
      };
    },
    reportTaskSuccess: async (request) => {
      await reportTaskSuccess(service().engine, {
        sessionId: request.sessionId,
        jobId: request.jobId,
        taskId: taskIdFromProto(request.taskId),
        taskInstanceId: request.taskInstanceId,
        executionManagerId: request.executionManagerId,
        serializedOutputs: request.serializedOutputs,
      });
      return {};
    },
    reportTaskFailure: async (request) => {
      await reportTaskFailure(service().engine, {
        sessionId: request.sessionId,
        jobId: request.jobId,
        taskId: taskIdFromProto(request.taskId),
        taskInstanceId: request.taskInstanceId,
        executionManagerId: request.executionManagerId,
        errorMessage: request.errorMessage,
      });
      return {};
    },
  }, { payloadMethods: ["reportTaskSuccess", "reportTaskFailure"] });

  const poll = (lane: Lane) => async (request: PollReadyTasksRequest, call: grpc.ServerUnaryCall<PollReadyTasksRequest, unknown>) => {
    const result = await pollReadyTasks(service().engine, lane, { maxItems: request.maxItems, waitMs: request.waitMs, signal: callSignal(call) });
    if (call.cancelled && result.tasks.length > 0) {
      // The caller went away while the answer was being made: give the entries
      // back rather than lose them until the next refill.
      returnUndeliveredTasks(service().engine, result.tasks);
      return { tasks: { sessionId: result.sessionId, tasks: [] } };
    }
    return {
      tasks: {
        sessionId: result.sessionId,
        tasks: result.tasks.map((task) => ({ resourceGroupId: task.resourceGroupId, jobId: task.jobId, taskId: taskIdToProto(task.taskId) })),
      },
    };
  };
  server.addService(InboundQueueService, {
    pollReadyTasks: poll("task"),
    pollReadyCommitTasks: poll("commit"),
    pollReadyCleanupTasks: poll("cleanup"),
  });

  server.addService(ResourceGroupManagementService, {
    addResourceGroup: async (request) => ({
      resourceGroupId: await addResourceGroup(service().engine, request.externalResourceGroupId, request.password),
    }),
    verifyResourceGroup: async (request) => {
      await verifyResourceGroup(service().engine, request.resourceGroupId, request.password);
      return {};
    },
  });

  server.addService(ExecutionManagerLivenessService, {
    registerExecutionManager: async (request) => {
      const registration = await registerExecutionManager(service().engine, request.ipAddress);
      return { registration };
    },
    updateExecutionManagerHeartbeat: async (request) => ({
      sessionId: await heartbeatExecutionManager(service().engine, request.executionManagerId),
    }),
  });

  server.addService(SchedulerRegistrationService, {
    registerScheduler: async (request) => {
      if (request.host === "") throw invalidArgument("host must not be empty");
      if (request.port > 65535) throw invalidArgument(`port does not fit in \`u16\`: ${request.port}`);
      return { registration: await registerScheduler(service().engine, request.host, request.port) };
    },
    getSchedulers: async () => ({
      schedulers: {
        schedulers: (await getSchedulers(service().engine)).map((s) => ({ schedulerId: s.schedulerId, host: s.host, port: s.port })),
      },
    }),
  });

  server.addService(SessionManagementService, {
    getSession: async () => ({ sessionId: service().sessionId }),
  });
}
