/** Reads a process's memory from /proc/<pid>/status (Linux): VmRSS (now) and VmHWM (peak so far). */
import { readdirSync, readFileSync } from "node:fs";

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

/** CPU seconds so far of every live process whose command name (/proc/<pid>/comm) starts with `prefix`, and their pids. */
export function readCpuSecondsOfCommand(prefix: string): { seconds: number; pids: number[] } {
  let seconds = 0;
  const pids: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return { seconds: Number.NaN, pids };
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (!readFileSync(`/proc/${entry}/comm`, "utf8").startsWith(prefix)) continue;
    } catch {
      continue;
    }
    const cpu = readCpuSeconds(Number(entry));
    if (Number.isFinite(cpu)) {
      seconds += cpu;
      pids.push(Number(entry));
    }
  }
  return { seconds, pids };
}

/**
 * CPU seconds used by named groups of processes over a span, read from
 * /proc/<pid>/stat at `start()` and at `read()` (so each process must still be
 * alive at the end: producers are kept alive until it is read). `self` is
 * this process (process.cpuUsage()); a group given by a command-name prefix is
 * summed over every process of that name (e.g. PostgreSQL's backends), a group
 * given by pids over those pids.
 */
export class CpuSpan {
  readonly #groups: Map<string, { pids?: readonly number[]; command?: string; self?: boolean }> = new Map();
  readonly #start = new Map<string, number>();
  #t0 = performance.now();

  group(name: string, spec: { pids?: readonly number[]; command?: string; self?: boolean }): this {
    this.#groups.set(name, spec);
    return this;
  }

  #read(spec: { pids?: readonly number[]; command?: string; self?: boolean }): number {
    if (spec.self) {
      const usage = process.cpuUsage();
      return (usage.user + usage.system) / 1e6;
    }
    if (spec.command) return readCpuSecondsOfCommand(spec.command).seconds;
    return (spec.pids ?? []).reduce((total, pid) => total + readCpuSeconds(pid), 0);
  }

  start(): this {
    this.#t0 = performance.now();
    for (const [name, spec] of this.#groups) this.#start.set(name, this.#read(spec));
    return this;
  }

  /** CPU seconds per group since start(), and the wall-clock seconds of the span. */
  read(): { wallSeconds: number; cpuSeconds: Record<string, number> } {
    const cpuSeconds: Record<string, number> = {};
    for (const [name, spec] of this.#groups) cpuSeconds[name] = this.#read(spec) - (this.#start.get(name) ?? Number.NaN);
    return { wallSeconds: (performance.now() - this.#t0) / 1000, cpuSeconds };
  }
}

/** CPU ms per unit (job, call) for each group of a CpuSpan reading. */
export function cpuMsPer(reading: { cpuSeconds: Record<string, number> }, units: number): Record<string, number> {
  return Object.fromEntries(Object.entries(reading.cpuSeconds).map(([name, seconds]) => [name, Math.round((seconds * 1000 * 1000) / Math.max(1, units)) / 1000]));
}
