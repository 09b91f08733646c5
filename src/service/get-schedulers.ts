/** GetSchedulers (unimplemented in Spider): the registered scheduler(s). */
import type { SchedulerRecord } from "../db/job-store.ts";
import type { ServiceContext } from "./service-context.ts";

export function getSchedulers(context: ServiceContext): Promise<SchedulerRecord[]> {
  return context.store.listSchedulers();
}
