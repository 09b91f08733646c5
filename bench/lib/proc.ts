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

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat (clock ticks of 1/100 s). */
export function readCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

/** CPU use of the server and of this (load-generating) process over a span, as % of one core. */
export class CpuMeter {
  readonly #pid: number;
  readonly #t0 = performance.now();
  readonly #server0: number;
  readonly #self0 = process.cpuUsage();

  constructor(serverPid: number) {
    this.#pid = serverPid;
    this.#server0 = readCpuSeconds(serverPid);
  }

  read(): { serverCpuPercent: number; loadGeneratorCpuPercent: number } {
    const seconds = (performance.now() - this.#t0) / 1000;
    const self = process.cpuUsage(this.#self0);
    return {
      serverCpuPercent: Math.round(((readCpuSeconds(this.#pid) - this.#server0) / seconds) * 100),
      loadGeneratorCpuPercent: Math.round(((self.user + self.system) / 1e6 / seconds) * 100),
    };
  }
}
