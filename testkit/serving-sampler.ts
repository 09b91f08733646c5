/**
 * `ServingSampler`: asks several storage servers, over and over, what the
 * standard gRPC health service (grpc.health.v1.Health/Check, service "") says,
 * all of them at the same moment, and keeps every answer — so a test can
 * assert that two servers were never SERVING at once (issue 19: one leader).
 *
 * A sample starts every `intervalMs` whether or not the previous one has been
 * answered: a frozen server (SIGSTOP) never answers, and must not stop the
 * others from being sampled. Its answer is then missing (DEADLINE_EXCEEDED),
 * not SERVING.
 */
import * as grpc from "@grpc/grpc-js";
import { service as healthServiceDefinition } from "grpc-health-check";

const HealthClient = grpc.makeGenericClientConstructor(healthServiceDefinition as unknown as grpc.ServiceDefinition, "Health");

/** "SERVING", "NOT_SERVING", or the gRPC status code of a failed check. */
export type HealthAnswer = string | grpc.status;

export interface ServingSample {
  /** `Date.now()` when the checks were sent. */
  readonly at: number;
  /** One answer per address, in the sampler's address order. */
  readonly answers: readonly HealthAnswer[];
}

export interface ServingSamplerOptions {
  readonly intervalMs?: number;
  /** How long one check may take before it counts as unanswered. */
  readonly deadlineMs?: number;
}

export class ServingSampler {
  readonly addresses: readonly string[];
  readonly samples: ServingSample[] = [];
  readonly #clients: grpc.Client[];
  readonly #intervalMs: number;
  readonly #deadlineMs: number;
  #timer: NodeJS.Timeout | undefined;
  readonly #pending = new Set<Promise<void>>();

  constructor(addresses: readonly string[], options: ServingSamplerOptions = {}) {
    this.addresses = [...addresses];
    this.#intervalMs = options.intervalMs ?? 30;
    this.#deadlineMs = options.deadlineMs ?? 1_000;
    // Reconnect quickly to a restarted server (grpc-js backs off up to 120 s by default).
    this.#clients = this.addresses.map(
      (address) => new HealthClient(address, grpc.credentials.createInsecure(), { "grpc.initial_reconnect_backoff_ms": 100, "grpc.max_reconnect_backoff_ms": 300 }),
    );
  }

  start(): this {
    this.#timer ??= setInterval(() => this.#sample(), this.#intervalMs);
    return this;
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await Promise.allSettled([...this.#pending]);
    for (const client of this.#clients) client.close();
  }

  /** Samples taken at or after `from` (and before `to`). */
  between(from: number, to = Infinity): ServingSample[] {
    return this.samples.filter((s) => s.at >= from && s.at < to);
  }

  /** Samples in which more than one server answered SERVING. */
  static overlapping(samples: readonly ServingSample[]): ServingSample[] {
    return samples.filter((s) => s.answers.filter((a) => a === "SERVING").length > 1);
  }

  /** "1234 samples; server 0 SERVING in 600, server 1 in 500, none in 134 (unanswered: 12)". */
  static summary(samples: readonly ServingSample[], names: readonly string[]): string {
    const serving = names.map((_, i) => samples.filter((s) => s.answers[i] === "SERVING").length);
    const none = samples.filter((s) => !s.answers.includes("SERVING")).length;
    const unanswered = samples.filter((s) => s.answers.some((a) => typeof a === "number")).length;
    return `${samples.length} samples; ${names.map((n, i) => `${n} SERVING in ${serving[i]}`).join(", ")}, none SERVING in ${none} (some server unanswered in ${unanswered}), two SERVING in ${ServingSampler.overlapping(samples).length}`;
  }

  /** One check of the server at `index` now, outside the samples. */
  check(index: number, deadlineMs = this.#deadlineMs): Promise<HealthAnswer> {
    return this.#check(this.#clients[index]!, deadlineMs);
  }

  #sample(): void {
    if (this.#pending.size > 200) return; // every server frozen: do not pile up
    const at = Date.now();
    const sample = Promise.all(this.#clients.map((client) => this.#check(client, this.#deadlineMs))).then((answers) => {
      this.samples.push({ at, answers });
    });
    this.#pending.add(sample);
    void sample.finally(() => this.#pending.delete(sample));
  }

  #check(client: grpc.Client, deadlineMs: number): Promise<HealthAnswer> {
    return new Promise((resolve) => {
      (client as unknown as Record<string, Function>)["check"]!.call(
        client,
        { service: "" },
        new grpc.Metadata(),
        { deadline: Date.now() + deadlineMs },
        (error: grpc.ServiceError | null, response: { status: string }) => resolve(error ? error.code : response.status),
      );
    });
  }
}
