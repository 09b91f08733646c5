/** GetSchedulers (unimplemented in Spider): the registered scheduler(s). */
import type { SchedulerRecord } from "../db/job-store.ts";
import type { Engine } from "../cache/engine.ts";

export function getSchedulers(engine: Engine): Promise<SchedulerRecord[]> {
  return engine.store.listSchedulers();
}
