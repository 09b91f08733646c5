/** The one error for a job id that has no row; Spider's text (spec §1.4). */
import { notFound, type StorageError } from "../../core/errors.ts";

export function jobNotFound(): StorageError {
  return notFound("job not found");
}
