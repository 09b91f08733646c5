/** The ~100-byte payload and ~100-byte result every peer's W1 job carries (spider-storage: bench/workloads/w1-job.ts). */
import { createHash } from "node:crypto";

export function payload(index: number): { i: number; pad: string } {
  // {"i":123,"pad":"…"} is 100 bytes of JSON for indexes below 10^6.
  const head = JSON.stringify({ i: index, pad: "" }).length;
  return { i: index, pad: "x".repeat(Math.max(0, 100 - head)) };
}

export function result(index: number): { i: number; r: string } {
  // 6 × 16 bytes as hex would be 192 characters: 80 hex characters keep the JSON at ~100 bytes.
  return { i: index, r: createHash("sha256").update(`w1-${index}`).digest("hex").slice(0, 80) };
}
