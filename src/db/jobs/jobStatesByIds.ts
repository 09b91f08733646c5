/** `jobStatesByIds`: the state of each given job and whether its outputs are stored, without reading blobs; missing ids are absent. */
import type { JobState } from "../../core/job-state.ts";
import type { Db } from "../connection.ts";
import { runStatement } from "../run-statement.ts";

export interface JobStateRow {
  readonly state: JobState;
  readonly hasOutputs: boolean;
}

const CHUNK = 1000;

export async function jobStatesByIds(db: Db, ids: readonly bigint[]): Promise<Map<bigint, JobStateRow>> {
  const out = new Map<bigint, JobStateRow>();
  for (let start = 0; start < ids.length; start += CHUNK) {
    const chunk = ids.slice(start, start + CHUNK);
    const rows = await runStatement(db, { operation: "jobStatesByIds", writes: false }, (connection) =>
      connection
        .selectFrom("jobs")
        .select((eb) => ["id", "state", eb("serialized_job_outputs", "is not", null).as("has_outputs")])
        .where("id", "in", chunk)
        .execute(),
    );
    for (const row of rows) out.set(row.id, { state: row.state, hasOutputs: Number(row.has_outputs) === 1 });
  }
  return out;
}
