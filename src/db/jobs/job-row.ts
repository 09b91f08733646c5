/**
 * A job as stored: the shape that getJob and listJobsByState return, and the
 * column lists they select. Blobs (task graph, inputs, outputs) are read only
 * when asked for (`withBlobs`), since they can be megabytes.
 */
import type { Selectable } from "kysely";
import type { JobState } from "../../core/job-state.ts";
import type { JobsTable } from "../schema.ts";

export interface JobRow {
  readonly id: bigint;
  readonly resourceGroupId: bigint;
  readonly state: JobState;
  /** Set exactly when the job is Failed. Quarantined jobs' messages start with "quarantined: ". */
  readonly errorMessage: string | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  /** Set exactly when the job is terminal. */
  readonly endedAt: Date | null;
  /** The client's zstd-compressed task graph, verbatim; present when read with blobs. */
  readonly compressedTaskGraph?: Uint8Array;
  /** The client's zstd-compressed job inputs, verbatim; present when read with blobs. */
  readonly compressedInputs?: Uint8Array;
  /** Raw `SerializedTaskOutputs` (set from CommitReady on); present (maybe null) when read with blobs. */
  readonly outputs?: Uint8Array | null;
}

export interface JobRowWithBlobs extends JobRow {
  readonly compressedTaskGraph: Uint8Array;
  readonly compressedInputs: Uint8Array;
  readonly outputs: Uint8Array | null;
}

export interface ReadJobOptions {
  /** Also read the task graph, inputs and outputs. Default false. */
  readonly withBlobs?: boolean;
}

/** Every column but the blobs. */
export const JOB_COLUMNS = [
  "id",
  "resource_group_id",
  "state",
  "error_message",
  "created_at",
  "updated_at",
  "ended_at",
] as const;

export function toJobRow(row: Partial<Selectable<JobsTable>>, withBlobs: boolean): JobRow {
  const base: JobRow = {
    id: row.id!,
    resourceGroupId: row.resource_group_id!,
    state: row.state!,
    errorMessage: row.error_message ?? null,
    createdAt: row.created_at!,
    updatedAt: row.updated_at!,
    endedAt: row.ended_at ?? null,
  };
  if (!withBlobs) return base;
  return {
    ...base,
    compressedTaskGraph: row.compressed_serialized_task_graph!,
    compressedInputs: row.compressed_serialized_job_inputs!,
    outputs: row.serialized_job_outputs ?? null,
  };
}
