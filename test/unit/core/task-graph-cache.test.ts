/**
 * The task graph cache: one parsed graph per distinct compressed bytes, LRU by
 * entries and weight, budget still enforced on a hit, failures never cached.
 */
import { describe, expect, it } from "vitest";
import { TaskGraphBuilder } from "../../../testkit/task-graph-builder.ts";
import { TaskGraphCache, taskGraphWeight } from "../../../src/core/task-graph-cache.ts";
import { compressZstd } from "../../../src/core/zstd.ts";
import { expectInvalid, utf8 } from "./helpers.ts";

const OPTIONS = { maxDecompressedBytes: 1 << 20 };

describe("TaskGraphCache", () => {
  it("returns the same frozen graph for the same bytes", () => {
    const cache = new TaskGraphCache();
    const bytes = TaskGraphBuilder.chain(3).toCompressed();
    const first = cache.decode(bytes, OPTIONS);
    expect(cache.decode(bytes.slice(), OPTIONS)).toBe(first);
    expect([cache.hits, cache.misses, cache.size]).toEqual([1, 1, 1]);
    expect(cache.weight).toBe(taskGraphWeight(first));
    expect(taskGraphWeight(first)).toBe(3 + 2 + 1);
  });

  it("tells different bytes apart, even for the same graph", () => {
    const cache = new TaskGraphCache();
    const builder = TaskGraphBuilder.chain(2);
    const a = cache.decode(builder.toCompressed(1), OPTIONS);
    const b = cache.decode(builder.toCompressed(19), OPTIONS);
    expect(b).not.toBe(a);
    expect(b).toEqual(a);
    expect(cache.size).toBe(2);
  });

  it("evicts the least recently used entry beyond maxEntries", () => {
    const cache = new TaskGraphCache({ maxEntries: 2 });
    const [g1, g2, g3] = [1, 2, 3].map((n) => TaskGraphBuilder.chain(n).toCompressed());
    const first = cache.decode(g1!, OPTIONS);
    cache.decode(g2!, OPTIONS);
    cache.decode(g1!, OPTIONS); // g1 is now the most recent
    cache.decode(g3!, OPTIONS); // evicts g2
    expect(cache.size).toBe(2);
    expect(cache.decode(g1!, OPTIONS)).toBe(first);
    const misses = cache.misses;
    cache.decode(g2!, OPTIONS);
    expect(cache.misses).toBe(misses + 1);
  });

  it("bounds total weight and does not keep a graph heavier than the bound", () => {
    const cache = new TaskGraphCache({ maxWeight: 19 });
    const big = TaskGraphBuilder.chain(15).toCompressed(); // weight 15 + 14 + 1 = 30
    const graph = cache.decode(big, OPTIONS);
    expect(graph.tasks).toHaveLength(15);
    expect(cache.size).toBe(0);
    const small = [1, 2, 3, 4].map((n) => TaskGraphBuilder.chain(n).toCompressed()); // weights 2, 4, 6, 8
    for (const bytes of small) {
      cache.decode(bytes, OPTIONS);
    }
    expect(cache.weight).toBe(18); // 2 + 4 + 6 + 8 = 20 is over the bound: the first goes
    expect(cache.size).toBe(3);
    cache.clear();
    expect([cache.size, cache.weight]).toEqual([0, 0]);
  });

  it("still enforces a smaller budget on a hit", () => {
    const cache = new TaskGraphCache();
    const json = TaskGraphBuilder.chain(2).toJson();
    const bytes = compressZstd(utf8(json));
    cache.decode(bytes, OPTIONS);
    expectInvalid(
      () => cache.decode(bytes, { maxDecompressedBytes: json.length - 1, limitName: "limit.key" }),
      `task graph decompresses to more than ${json.length - 1} bytes, above the limit of ${json.length - 1} bytes (limit.key)`,
    );
    expect(cache.decode(bytes, { maxDecompressedBytes: json.length }).tasks).toHaveLength(2);
  });

  it("does not cache failures", () => {
    const cache = new TaskGraphCache();
    const bad = compressZstd(utf8('{"schema_version":"9.9.9","tasks":[],"commit_task":null,"cleanup_task":null}'));
    expectInvalid(() => cache.decode(bad, OPTIONS), "incompatible");
    expectInvalid(() => cache.decode(bad, OPTIONS), "incompatible");
    expect([cache.size, cache.misses, cache.hits]).toEqual([0, 2, 0]);
  });
});
