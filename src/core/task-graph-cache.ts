/**
 * Interning of parsed task graphs: a bounded LRU keyed by the SHA-256 of the
 * compressed bytes, so the many jobs submitted (or recovered) with the same
 * graph share one parsed, frozen {@link TaskGraph} and parse it once. The
 * bound is on entries and on total weight (tasks + dependencies), so a few
 * huge graphs cannot pin unbounded memory; a graph heavier than the whole
 * bound is parsed but not kept. Failures are not cached.
 */
import { hash, webcrypto } from "node:crypto";
import { invalidArgument } from "./errors.ts";
import { checkZstdFrames } from "./zstd.ts";
import {
  decompressTaskGraph,
  decompressTaskGraphAsync,
  parseTaskGraphJson,
  taskGraphZstdOptions,
  type DecodeTaskGraphOptions,
  type TaskGraph,
} from "./task-graph.ts";
import { RenewingMap } from "./renewing-map.ts";

/** Compressed graphs up to this size are hashed on the event loop (a few microseconds). */
const ON_LOOP_HASH_MAX_BYTES = 64 * 1024;

export interface TaskGraphCacheOptions {
  /** Most graphs kept. Default 1024. */
  readonly maxEntries?: number;
  /** Most total weight kept, weight = tasks + dependency edges + 1. Default 4,000,000. */
  readonly maxWeight?: number;
}

interface Entry {
  readonly graph: TaskGraph;
  /** Size of the decompressed JSON, so a hit still honours a smaller budget. */
  readonly jsonBytes: number;
  readonly weight: number;
}

export function taskGraphWeight(graph: TaskGraph): number {
  return graph.tasks.length + graph.dependencyCount + 1;
}

export class TaskGraphCache {
  private readonly maxEntries: number;
  private readonly maxWeight: number;
  // Iterates in insertion order (kept across RenewingMap's copies); re-inserting on a hit makes the first key the least recent.
  private readonly entries = new RenewingMap<string, Entry>();
  private totalWeight = 0;
  private hitCount = 0;
  private missCount = 0;

  constructor(options: TaskGraphCacheOptions = {}) {
    this.maxEntries = options.maxEntries ?? 1024;
    this.maxWeight = options.maxWeight ?? 4_000_000;
  }

  /**
   * The parsed graph for these compressed bytes: from the cache, or decoded
   * (under the budget), validated and cached. Throws what decodeTaskGraph throws.
   */
  decode(compressed: Uint8Array, options: DecodeTaskGraphOptions): TaskGraph {
    const key = hash("sha256", compressed, "base64");
    const hit = this.lookup(key, options);
    if (hit !== undefined) {
      return hit;
    }
    this.missCount += 1;
    const json = decompressTaskGraph(compressed, options);
    const graph = parseTaskGraphJson(json, options);
    this.insert(key, { graph, jsonBytes: json.length, weight: taskGraphWeight(graph) });
    return graph;
  }

  /**
   * {@link decode} for request paths: the hash and the decompression run off
   * the event loop (up to 64 MiB each), only the parse on it; the frames are
 * walked (and refused when over the cap) before anything is hashed.
   */
  async decodeAsync(compressed: Uint8Array, options: DecodeTaskGraphOptions): Promise<TaskGraph> {
    // Junk (too many frames, a bad header, a declared size above the budget) is refused before it is hashed.
    checkZstdFrames(compressed, taskGraphZstdOptions(options));
    // Small graphs are hashed here: WebCrypto's thread-pool round trip costs more than the hash.
    const key =
      compressed.length <= ON_LOOP_HASH_MAX_BYTES
        ? hash("sha256", compressed, "base64")
        : Buffer.from(await webcrypto.subtle.digest("SHA-256", compressed as Uint8Array<ArrayBuffer>)).toString("base64");
    const hit = this.lookup(key, options);
    if (hit !== undefined) {
      return hit;
    }
    this.missCount += 1;
    const json = await decompressTaskGraphAsync(compressed, options);
    const graph = parseTaskGraphJson(json, options);
    this.insert(key, { graph, jsonBytes: json.length, weight: taskGraphWeight(graph) });
    return graph;
  }

  /** The cached graph for `key` (made most recent), undefined on a miss; throws when it is above a smaller budget. */
  private lookup(key: string, options: DecodeTaskGraphOptions): TaskGraph | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) {
      return undefined;
    }
    if (entry.jsonBytes > options.maxDecompressedBytes) {
      // Same outcome as decoding afresh under the smaller budget.
      const limit = options.maxDecompressedBytes;
      throw invalidArgument(
        `task graph decompresses to more than ${limit} bytes, above the limit of ${limit} bytes` +
          (options.limitName === undefined ? "" : ` (${options.limitName})`),
      );
    }
    this.hitCount += 1;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.graph;
  }

  get size(): number {
    return this.entries.size;
  }

  get weight(): number {
    return this.totalWeight;
  }

  get hits(): number {
    return this.hitCount;
  }

  get misses(): number {
    return this.missCount;
  }

  clear(): void {
    this.entries.clear();
    this.totalWeight = 0;
  }

  private insert(key: string, entry: Entry): void {
    if (entry.weight > this.maxWeight || this.maxEntries <= 0) {
      return;
    }
    this.entries.set(key, entry);
    this.totalWeight += entry.weight;
    while (this.entries.size > this.maxEntries || this.totalWeight > this.maxWeight) {
      const oldest = this.entries.keys().next().value as string;
      this.totalWeight -= this.entries.get(oldest)!.weight;
      this.entries.delete(oldest);
    }
  }
}
