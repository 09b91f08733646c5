/** GetSchedulers (unimplemented in Spider): the registered scheduler(s). */
import type { SchedulerRecord } from "../cache/job-store.ts";
import type { ServiceContext } from "./service-context.ts";

export function getSchedulers(context: ServiceContext): Promise<SchedulerRecord[]> {
  return context.store.listSchedulers();
}
