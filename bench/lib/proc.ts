/** Reads a process's memory from /proc/<pid>/status (Linux): VmRSS (now) and VmHWM (peak so far). */
import { readFileSync } from "node:fs";

export interface MemoryReading {
  readonly rssBytes: number;
  readonly hwmBytes: number;
}

export function readMemory(pid: number): MemoryReading | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    return undefined;
  }
  const field = (name: string) => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status);
    return match ? Number(match[1]) * 1024 : Number.NaN;
  };
  return { rssBytes: field("VmRSS"), hwmBytes: field("VmHWM") };
}

/** Samples a process's RSS every `intervalMs` until stopped; keeps the peak (VmHWM catches what sampling misses). */
export class RssSampler {
  readonly #pid: number;
  readonly #timer: NodeJS.Timeout;
  peakRssBytes = 0;
  samples = 0;

  constructor(pid: number, intervalMs = 20) {
    this.#pid = pid;
    this.#timer = setInterval(() => this.sample(), intervalMs);
    this.sample();
  }

  sample(): MemoryReading | undefined {
    const reading = readMemory(this.#pid);
    if (reading) {
      this.samples++;
      this.peakRssBytes = Math.max(this.peakRssBytes, reading.rssBytes);
    }
    return reading;
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

export const MiB = 1024 * 1024;
