/**
 * Runs cases one after another against the fuzz environment and judges
 * them: the status (and, where a limit is named, the details) D5 gives the
 * case; the server process still running; and for refused requests, that
 * nothing changed — snapshots are taken around batches of consecutive
 * requests that may change nothing (a batch closes at `batchSize` cases, or
 * before a request that may change state), or around every request in
 * `strict` mode (replays).
 */
import { fromBinary, type DescMessage } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { RegisterJobResponseSchema } from "../../src/gen/storage/storage_pb.ts";
import { expectedForBytes } from "./expected-status.ts";
import { DEFAULT_DEADLINE_MS, statusName, type BuiltRequest, type CaseKind, type FailureKind, type FuzzFailure } from "./fuzz-case.ts";
import type { FuzzCase } from "./fuzz-cases.ts";
import type { FuzzEnvironment } from "./fuzz-environment.ts";
import { runHostileOrder } from "./hostile-orders.ts";
import { buildSubmission } from "./job-submission-cases.ts";
import { buildMessageFields } from "./message-field-cases.ts";
import { buildRandomBytes } from "./random-bytes-cases.ts";
import { describeReflectionCase, runReflectionCase, type ReflectionCase } from "./reflection-cases.ts";
import { methodNamed } from "./rpc-methods.ts";
import { settledSnapshot, snapshotDiff, takeSnapshot, type StateSnapshot } from "./state-snapshot.ts";
import { pollDeadline } from "./expected-status.ts";

export interface CaseRunnerOptions {
  readonly seed: number;
  readonly batchSize?: number;
  /** A snapshot around every request (replays). */
  readonly strict?: boolean;
  /** Most failures kept in full (all are counted). */
  readonly maxFailuresKept?: number;
}

export class CaseRunner {
  readonly env: FuzzEnvironment;
  readonly #seed: number;
  readonly #batchSize: number;
  readonly #strict: boolean;
  readonly #maxKept: number;
  readonly knownJobIds = new Set<bigint>();
  readonly resourceGroupNames = new Set<string>();
  readonly byKind: Record<string, number> = {};
  readonly byStatus: Record<string, number> = {};
  readonly failuresByKind: Record<string, number> = {};
  readonly failures: FuzzFailure[] = [];
  requests = 0;
  hostileOrderCalls = 0;
  undetermined = 0;
  snapshots = 0;
  crashed = false;
  #baseline: StateSnapshot | undefined;
  #batch: { path: string; kind: CaseKind; description: string }[] = [];
  #settle = true;

  constructor(env: FuzzEnvironment, options: CaseRunnerOptions) {
    this.env = env;
    this.#seed = options.seed;
    this.#batchSize = options.batchSize ?? 25;
    this.#strict = options.strict ?? false;
    this.#maxKept = options.maxFailuresKept ?? 200;
    this.resourceGroupNames.add(env.world.resourceGroupName);
  }

  get failureCount(): number {
    return Object.values(this.failuresByKind).reduce((a, b) => a + b, 0);
  }

  /** Runs one case; returns the failures it caused (also recorded). */
  async run(c: FuzzCase, path: string): Promise<FuzzFailure[]> {
    const before = this.failures.length;
    const beforeCount = this.failureCount;
    this.byKind[c.kind] = (this.byKind[c.kind] ?? 0) + 1;
    try {
      if (c.kind === "hostile-order") {
        await this.closeBatch();
        const result = await runHostileOrder(c.c, this.env, this.knownJobIds);
        this.hostileOrderCalls += result.calls;
        for (const problem of result.problems) {
          this.#fail(problem.includes("state changed") ? "state-changed" : problem.includes(": job ") ? "wrong-state" : "wrong-status", c.kind, path, `hostile order ${c.c.scenario} ${JSON.stringify({ ...c.c, junk: `<${c.c.junk.length} bytes>` })}`, problem);
        }
        this.#baseline = undefined;
        this.#settle = true;
      } else if (c.kind === "reflection") {
        await this.#runReflection(c.c, path);
      } else {
        await this.#runRequest(c, path);
      }
    } catch (error) {
      this.#fail("error", c.kind, path, c.kind, `the fuzzer itself failed: ${error instanceof Error ? error.stack : String(error)}`);
      this.#baseline = undefined;
    }
    if (!this.crashed && !this.env.server.running) {
      this.crashed = true;
      this.#fail("crash", c.kind, path, c.kind, `the server exited: ${JSON.stringify(await this.env.server.exited)}\n${this.env.server.logs.slice(-3000)}`);
    }
    if (this.#strict) await this.closeBatch();
    return this.failureCount > beforeCount ? this.failures.slice(before) : [];
  }

  /** The snapshot a batch of requests that may change nothing is compared with, taken before the first. */
  async #ensureBaseline(): Promise<void> {
    if (this.#baseline !== undefined) return;
    this.#baseline = this.#settle ? await settledSnapshot(this.env) : await takeSnapshot(this.env);
    this.snapshots += 1;
    this.#settle = false;
  }

  /** A reflection stream changes nothing: it joins the batch of refused requests and reads. */
  async #runReflection(c: ReflectionCase, path: string): Promise<void> {
    await this.#ensureBaseline();
    const { problems, code } = await runReflectionCase(c, this.env.raw);
    this.requests += 2;
    this.byStatus[statusName(code)] = (this.byStatus[statusName(code)] ?? 0) + 1;
    const description = describeReflectionCase(c);
    for (const problem of problems) this.#fail("wrong-status", "reflection", path, description, problem);
    this.#batch.push({ path, kind: "reflection", description });
    if (this.#batch.length >= this.#batchSize) await this.closeBatch();
  }

  async #build(c: Exclude<FuzzCase, { kind: "hostile-order" | "reflection" }>): Promise<BuiltRequest | { undetermined: string }> {
    const world = { ...this.env.world, knownJobIds: this.knownJobIds, resourceGroupNames: this.resourceGroupNames };
    if (c.kind === "random-bytes" || c.kind === "message-fields") {
      const bytes = c.kind === "random-bytes" ? buildRandomBytes(c.c, world) : buildMessageFields(c.c, world);
      const judgement = expectedForBytes(c.c.method, bytes, world);
      if ("undetermined" in judgement) return judgement;
      let deadlineMs: number | undefined;
      if (c.c.method.startsWith("InboundQueueService.")) {
        try {
          const decoded = fromBinary(methodNamed(c.c.method).input as DescMessage, bytes) as unknown as { waitMs: bigint };
          deadlineMs = pollDeadline(decoded.waitMs);
        } catch {
          // undecodable: answered at once
        }
      }
      return {
        method: c.c.method,
        bytes,
        expect: judgement,
        ...(deadlineMs === undefined ? {} : { deadlineMs }),
        description: `${c.c.method} ${bytes.length} bytes: ${Buffer.from(bytes.subarray(0, 48)).toString("hex")}${bytes.length > 48 ? "…" : ""}`,
      };
    }
    return buildSubmission(c.c, this.env.world);
  }

  async #runRequest(c: Exclude<FuzzCase, { kind: "hostile-order" | "reflection" }>, path: string): Promise<void> {
    const built = await this.#build(c);
    if ("undetermined" in built) {
      this.undetermined += 1;
      return;
    }
    if (built.expect.mayChangeState) {
      await this.closeBatch();
    } else {
      await this.#ensureBaseline();
    }
    const method = methodNamed(built.method);
    const answer = await this.env.raw.call(method.path, built.bytes, built.deadlineMs ?? DEFAULT_DEADLINE_MS);
    this.requests += 1;
    this.byStatus[statusName(answer.code)] = (this.byStatus[statusName(answer.code)] ?? 0) + 1;
    const expected = built.expect;
    if (!expected.codes.includes(answer.code)) {
      this.#fail("wrong-status", c.kind, path, built.description, `${statusName(answer.code)} "${answer.details.slice(0, 300)}", expected ${expected.codes.map(statusName).join(" or ")} (${expected.rule})`);
    } else if (expected.details !== undefined && answer.code !== grpc.status.OK && !expected.details.test(answer.details)) {
      this.#fail("wrong-details", c.kind, path, built.description, `${statusName(answer.code)} "${answer.details.slice(0, 300)}" does not match ${expected.details} (${expected.rule})`);
    }
    if (expected.mayChangeState) {
      if (answer.code === grpc.status.OK) this.#noteAccepted(built, answer.response);
      this.#baseline = undefined;
      this.#settle = true;
    } else {
      this.#batch.push({ path, kind: c.kind, description: built.description });
      if (this.#batch.length >= this.#batchSize) await this.closeBatch();
    }
  }

  /** What an accepted request made, so later judgements know it exists. */
  #noteAccepted(built: BuiltRequest, response: Buffer | undefined): void {
    if (built.method === "JobOrchestrationService.RegisterJob" && response !== undefined) {
      this.knownJobIds.add(fromBinary(RegisterJobResponseSchema, response).jobId);
    }
    if (built.method === "ResourceGroupManagementService.AddResourceGroup") {
      const request = fromBinary(methodNamed(built.method).input as DescMessage, built.bytes) as unknown as { externalResourceGroupId: string };
      this.resourceGroupNames.add(request.externalResourceGroupId.replace(/ +$/, ""));
    }
  }

  /** Compares the state with the batch's baseline: every request since must have changed nothing. */
  async closeBatch(): Promise<void> {
    const batch = this.#batch;
    this.#batch = [];
    if (batch.length === 0 || this.#baseline === undefined) return;
    const after = await takeSnapshot(this.env);
    this.snapshots += 1;
    const diff = snapshotDiff(this.#baseline, after);
    this.#baseline = after;
    if (diff.length > 0) {
      const first = batch[0]!;
      this.#fail(
        "state-changed",
        first.kind,
        batch.map((b) => b.path).join(","),
        batch.map((b) => `[${b.path}] ${b.description}`).join("\n"),
        `a batch of ${batch.length} refused requests (or reads) changed the state: ${diff.join("; ")} — replay each path with replayFuzzCase to find which`,
      );
    }
  }

  #fail(kind: FailureKind, caseKind: CaseKind, path: string, description: string, message: string): void {
    this.failuresByKind[kind] = (this.failuresByKind[kind] ?? 0) + 1;
    if (this.failures.length < this.#maxKept) this.failures.push({ kind, caseKind, seed: this.#seed, path, description: description.slice(0, 2000), message: message.slice(0, 4000) });
  }
}
