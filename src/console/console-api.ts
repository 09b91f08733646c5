/**
 * The console's JSON API: one route per page or button, each handing its
 * request to the admin use case the CLI uses (src/admin/), so the console
 * reads what `status`, `jobs list|show|payload` and `em list` read, and its
 * repairs are the CLI's repairs — same checks, same audit lines (the actor
 * is the console's caller). Routes:
 *
 *   GET  /api/status                            status
 *   GET  /api/jobs?state=S&resourceGroup=N&after=ID&limit=N   newest first
 *   GET  /api/jobs/ID                           jobs show (every task)
 *   GET  /api/jobs/ID/graph                     the graph's shape (job-graph.ts)
 *   GET  /api/jobs/ID/payload                   jobs payload (the list)
 *   GET  /api/jobs/ID/payload/ITEM              one item's bytes, as a download
 *   GET  /api/execution-managers?state=S        em list, with running instances
 *   POST /api/jobs/ID/{cancel,fail,retry,requeue}        {reason, releaseInstances}
 *   POST /api/queue/resend                      {reason}
 *   POST /api/execution-managers/ID/release     {reason}
 */
import type { IncomingMessage } from "node:http";
import { create } from "@bufbuild/protobuf";
import type { AdminHost } from "../admin/admin-host.ts";
import type { Actor } from "../admin/audit.ts";
import { cancelJobByOperator } from "../admin/cancel-job-by-operator.ts";
import { failJobWithReason } from "../admin/fail-job-with-reason.ts";
import { jobPayload } from "../admin/job-payload.ts";
import { listJobsPage } from "../admin/list-jobs.ts";
import { releaseExecutionManagerByOperator } from "../admin/release-execution-manager-by-operator.ts";
import { requeueJobByOperator } from "../admin/requeue-job-by-operator.ts";
import { resendQueueByOperator } from "../admin/resend-queue-by-operator.ts";
import { retryJobByOperator } from "../admin/retry-job-by-operator.ts";
import { showJob } from "../admin/show-job.ts";
import { getStatus } from "../admin/status.ts";
import { GetJobPayloadRequestSchema, GetJobRequestSchema, ListJobsRequestSchema } from "../gen/admin/admin_pb.ts";
import { executionManagersView } from "./execution-managers-view.ts";
import { HttpError } from "./http-error.ts";
import { jobGraph } from "./job-graph.ts";
import { booleanField, parseId, parseIntegerParam, readJsonObject, stringField } from "./request-input.ts";

/** Jobs per page of the jobs list. */
export const DEFAULT_JOBS_PAGE = 50;
export const MAX_JOBS_PAGE = 500;
/** Payload items listed for one job. */
const MAX_PAYLOAD_ITEMS = 1000;
/** Task indices of a retry listed in its answer (it counts them all). */
const MAX_RERUN_TASK_INDICES = 100;

export interface ApiCall {
  readonly method: string;
  /** The path after /api/, split at "/" (already URL-decoded). */
  readonly segments: readonly string[];
  readonly params: URLSearchParams;
  readonly request: IncomingMessage;
  readonly actor: Actor;
}

export type ApiAnswer =
  | { readonly kind: "json"; readonly body: unknown }
  | { readonly kind: "download"; readonly body: Uint8Array; readonly fileName: string };

const json = (body: unknown): ApiAnswer => ({ kind: "json", body });

export async function answerApi(host: AdminHost, call: ApiCall): Promise<ApiAnswer> {
  const [first, second, third, fourth, ...rest] = call.segments;
  if (rest.length > 0) throw new HttpError(404, "no such console API path");
  if (call.method === "GET") {
    if (first === "status" && second === undefined) return json(await getStatus(host));
    if (first === "jobs" && second === undefined) return json(await listJobs(host, call.params));
    if (first === "jobs" && second !== undefined) {
      const jobId = parseId(second, "job id");
      if (third === undefined) {
        return json(await showJob(host, create(GetJobRequestSchema, { jobId, maxTasks: host.settings.limits.maxTasks + 2 })));
      }
      if (third === "graph" && fourth === undefined) return json(await jobGraph(host, jobId));
      if (third === "payload" && fourth === undefined) {
        return json(await jobPayload(host, create(GetJobPayloadRequestSchema, { jobId, maxItems: MAX_PAYLOAD_ITEMS })));
      }
      if (third === "payload" && fourth !== undefined) {
        const answer = await jobPayload(host, create(GetJobPayloadRequestSchema, { jobId, item: fourth }));
        return { kind: "download", body: answer.data ?? new Uint8Array(), fileName: `job-${jobId}-${fourth.replaceAll(":", "-")}.bin` };
      }
    }
    if (first === "execution-managers" && second === undefined) return json(await executionManagersView(host, call.params.get("state") ?? ""));
    throw new HttpError(404, "no such console API path");
  }
  if (call.method === "POST") {
    const body = await readJsonObject(call.request);
    const reason = stringField(body, "reason");
    if (first === "jobs" && second !== undefined && fourth === undefined) {
      const jobId = parseId(second, "job id");
      switch (third) {
        case "cancel":
          return json(await cancelJobByOperator(host, call.actor, { jobId, reason }));
        case "fail":
          return json(await failJobWithReason(host, call.actor, { jobId, reason }));
        case "retry": {
          const result = await retryJobByOperator(host, call.actor, { jobId, reason });
          return json({ ...result, rerunTasks: result.rerunTasks.length, rerunTaskIndices: result.rerunTasks.slice(0, MAX_RERUN_TASK_INDICES) });
        }
        case "requeue":
          return json(await requeueJobByOperator(host, call.actor, { jobId, reason, releaseInstances: booleanField(body, "releaseInstances") }));
      }
    }
    if (first === "queue" && second === "resend" && third === undefined) return json(resendQueueByOperator(host, call.actor, { reason }));
    if (first === "execution-managers" && second !== undefined && third === "release" && fourth === undefined) {
      const executionManagerId = parseId(second, "execution manager id");
      return json(await releaseExecutionManagerByOperator(host, call.actor, { executionManagerId, reason }));
    }
    throw new HttpError(404, "no such console API path");
  }
  throw new HttpError(405, `method ${call.method.slice(0, 16)} not allowed: the console API answers GET and POST`);
}

async function listJobs(host: AdminHost, params: URLSearchParams) {
  const resourceGroup = params.get("resourceGroup") ?? "";
  const after = params.get("after") ?? "";
  const request = create(ListJobsRequestSchema, {
    states: params.getAll("state").flatMap((value) => value.split(",")).filter((value) => value !== "").slice(0, 16),
    ...(resourceGroup === "" ? {} : { resourceGroupId: parseId(resourceGroup, "resource group id") }),
    afterId: after === "" ? 0n : parseId(after, "after (job id)"),
    pageSize: parseIntegerParam(params, "limit", DEFAULT_JOBS_PAGE, 1, MAX_JOBS_PAGE),
  });
  return listJobsPage(host, request, { newestFirst: true });
}
