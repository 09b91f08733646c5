/** The reason an operator gives for a repair, as the audit trail and error messages keep it. */

/** Most characters of a reason kept (it may become an error message). */
const MAX_REASON_CHARS = 2000;

export function operatorReason(text: string): string {
  return text.trim().slice(0, MAX_REASON_CHARS);
}
