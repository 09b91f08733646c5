/**
 * Every RPC the fuzzer sends to: the 18 methods of Spider's 7 storage services
 * and the admin API's 7 read methods, each with its request message (to build
 * requests and to decode random bytes the way the server does) and whether
 * it carries a payload (RegisterJob and the task reports may be up to
 * runtime.limits.max_request_bytes; every other request is capped at
 * runtime.limits.max_control_request_bytes, DECISIONS D15).
 */
import type { DescMessage, DescService } from "@bufbuild/protobuf";
import { InspectionService } from "../../src/gen/admin/admin_pb.ts";
import {
  ExecutionManagerLivenessService,
  InboundQueueService,
  JobOrchestrationService,
  ResourceGroupManagementService,
  SchedulerRegistrationService,
  SessionManagementService,
  TaskInstanceManagementService,
} from "../../src/gen/storage/storage_pb.ts";

export interface RpcMethod {
  /** `JobOrchestrationService.RegisterJob`, as reported. */
  readonly name: string;
  /** `/storage.JobOrchestrationService/RegisterJob`, as grpc-js routes it. */
  readonly path: string;
  readonly input: DescMessage;
  /** Whether requests may reach max_request_bytes (else max_control_request_bytes). */
  readonly payload: boolean;
  /** Admin read methods: answer in every phase, loopback callers need no token. */
  readonly admin: boolean;
}

const PAYLOAD_METHODS = new Set(["RegisterJob", "ReportTaskSuccess", "ReportTaskFailure"]);

function methodsOf(service: DescService, admin = false): RpcMethod[] {
  return service.methods.map((method) => ({
    name: `${service.name}.${method.name}`,
    path: `/${service.typeName}/${method.name}`,
    input: method.input,
    payload: PAYLOAD_METHODS.has(method.name),
    admin,
  }));
}

export const STORAGE_METHODS: readonly RpcMethod[] = [
  JobOrchestrationService,
  TaskInstanceManagementService,
  InboundQueueService,
  ResourceGroupManagementService,
  ExecutionManagerLivenessService,
  SchedulerRegistrationService,
  SessionManagementService,
].flatMap((service) => methodsOf(service));

export const ADMIN_READ_METHODS: readonly RpcMethod[] = methodsOf(InspectionService, true);

export const ALL_METHODS: readonly RpcMethod[] = [...STORAGE_METHODS, ...ADMIN_READ_METHODS];

/** Method names, as cases name them. */
export type MethodName = string;

export function methodNamed(name: MethodName): RpcMethod {
  const method = ALL_METHODS.find((m) => m.name === name);
  if (method === undefined) throw new Error(`no RPC named ${name}`);
  return method;
}
