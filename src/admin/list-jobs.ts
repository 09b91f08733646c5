/**
 * `jobs list`: a page of jobs from the database, filtered by state, resource
 * group and age, with whether each is in this server's cache. In id order;
 * the web console asks for the newest first (`nextAfterId` then pages down).
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import { invalidArgument } from "../core/errors.ts";
import { isJobState, JOB_STATES, type JobState } from "../core/job-state.ts";
import type { ListJobsRequest, ListJobsResponseSchema } from "../gen/admin/admin_pb.ts";
import type { AdminHost } from "./admin-host.ts";
import { jobSummary } from "./job-summary.ts";
import { requireDb } from "./require-ready.ts";
import { listJobs } from "../db/jobs/listJobs.ts";

export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 10_000;

/** Parses job state names case-insensitively ("running" → Running). */
export function parseJobStates(names: readonly string[]): JobState[] {
  return names.map((name) => {
    const state = JOB_STATES.find((s) => s.toLowerCase() === name.toLowerCase());
    if (state === undefined || !isJobState(state)) throw invalidArgument(`unknown job state "${name}": expected one of ${JOB_STATES.join(", ")}`);
    return state;
  });
}

export async function listJobsPage(
  host: AdminHost,
  request: ListJobsRequest,
  order: { readonly newestFirst?: boolean } = {},
): Promise<MessageInitShape<typeof ListJobsResponseSchema>> {
  const db = requireDb(host);
  const service = host.service;
  const pageSize = request.pageSize === 0 ? DEFAULT_PAGE_SIZE : request.pageSize;
  if (pageSize > MAX_PAGE_SIZE) throw invalidArgument(`page size ${pageSize} is above the limit of ${MAX_PAGE_SIZE}`);
  const rows = await listJobs(db, {
    states: parseJobStates(request.states),
    ...(request.resourceGroupId === undefined ? {} : { resourceGroupId: request.resourceGroupId }),
    olderThanMs: Number(request.olderThanMs),
    newerThanMs: Number(request.newerThanMs),
    afterId: request.afterId,
    limit: pageSize,
    newestFirst: order.newestFirst === true,
  });
  return {
    jobs: rows.map((row) => jobSummary(row, service?.cache.get(row.id) !== undefined, 200)),
    nextAfterId: rows.length === pageSize ? rows[rows.length - 1]!.id : 0n,
  };
}
