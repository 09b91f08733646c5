/**
 * RenewingMap and RenewingSet (src/core/renewing-map.ts) answer exactly as a
 * Map and a Set do, whatever the operations, and copy their entries into a
 * fresh table once the deletions since the last copy reach the table's size
 * (at least MIN_DELETES_BEFORE_RENEWAL). And the reason they exist: a
 * long-lived table that values pass through promotes nearly all of them to
 * V8's old generation as a Map, and few as a RenewingMap.
 */
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MIN_DELETES_BEFORE_RENEWAL, RenewingMap, RenewingSet } from "../../../src/core/renewing-map.ts";
import { measurePromotion } from "../../../testkit/gc/promotion.ts";

type Op = { kind: "set"; key: number; value: number } | { kind: "delete"; key: number } | { kind: "clear" };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 10, arbitrary: fc.record({ kind: fc.constant("set" as const), key: fc.integer({ min: 0, max: 40 }), value: fc.integer() }) },
  { weight: 10, arbitrary: fc.record({ kind: fc.constant("delete" as const), key: fc.integer({ min: 0, max: 40 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("clear" as const) }) },
);

describe("RenewingMap", () => {
  it("answers every operation as a Map does, iteration order included", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 600 }), (ops) => {
        const model = new Map<number, number>();
        const map = new RenewingMap<number, number>();
        for (const o of ops) {
          if (o.kind === "set") expect(map.set(o.key, o.value)).toBe(map), model.set(o.key, o.value);
          else if (o.kind === "delete") expect(map.delete(o.key)).toBe(model.delete(o.key));
          else map.clear(), model.clear();
          expect(map.size).toBe(model.size);
        }
        expect([...map]).toEqual([...model]);
        expect([...map.keys()]).toEqual([...model.keys()]);
        expect([...map.values()]).toEqual([...model.values()]);
        expect([...map.entries()]).toEqual([...model.entries()]);
        for (let key = 0; key <= 40; key++) {
          expect(map.get(key)).toBe(model.get(key));
          expect(map.has(key)).toBe(model.has(key));
        }
      }),
      { numRuns: 300 },
    );
  });

  it("copies a small table after MIN_DELETES_BEFORE_RENEWAL deletions, on the next insertion", () => {
    const map = new RenewingMap<number, string>();
    for (let i = 0; i < MIN_DELETES_BEFORE_RENEWAL; i++) {
      map.set(i, `v${i}`);
      map.delete(i);
    }
    expect(map.renewals).toBe(0); // never inside delete
    map.set(-1, "after");
    expect(map.renewals).toBe(1);
    expect([...map]).toEqual([[-1, "after"]]);
  });

  it("copies a large table only after as many deletions as it holds, so a copy costs at most one entry per deletion", () => {
    const map = new RenewingMap<number, number>();
    for (let i = 0; i < 1_000; i++) map.set(i, i);
    for (let i = 0; i < 998; i++) {
      map.delete(i);
      map.set(1_000 + i, i); // size back to 1 000
    }
    expect(map.renewals).toBe(0); // 998 deletions: fewer than the 999 entries held at each insertion
    map.delete(998);
    map.set(5_000, 0); // 999 deletions, 999 entries
    expect(map.renewals).toBe(1);
    expect(map.size).toBe(1_000);
    expect([...map.keys()].slice(0, 2)).toEqual([999, 1_000]); // insertion order kept across the copy
  });

  it("lets a caller delete while iterating, as a Map does", () => {
    const map = new RenewingMap<number, number>();
    for (let i = 0; i < 500; i++) map.set(i, i);
    for (let i = 0; i < 400; i++) map.delete(i);
    for (let i = 500; i < 600; i++) map.set(i, i); // renewed on the first of these
    expect(map.renewals).toBe(1);
    const seen: number[] = [];
    for (const [key] of map) {
      seen.push(key);
      map.delete(key + 1); // not visited afterwards
    }
    expect(seen).toEqual(Array.from({ length: 100 }, (_, i) => 400 + 2 * i));
  });
});

describe("RenewingSet", () => {
  it("answers every operation as a Set does, iteration order included", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 600 }), (ops) => {
        const model = new Set<number>();
        const set = new RenewingSet<number>();
        for (const o of ops) {
          if (o.kind === "set") expect(set.add(o.key)).toBe(set), model.add(o.key);
          else if (o.kind === "delete") expect(set.delete(o.key)).toBe(model.delete(o.key));
          else set.clear(), model.clear();
          expect(set.size).toBe(model.size);
        }
        expect([...set]).toEqual([...model]);
        expect([...set.values()]).toEqual([...model]);
        for (let key = 0; key <= 40; key++) expect(set.has(key)).toBe(model.has(key));
      }),
      { numRuns: 300 },
    );
  });

  it("copies itself on the insertion after enough deletions", () => {
    const set = new RenewingSet<number>();
    for (let i = 0; i < MIN_DELETES_BEFORE_RENEWAL; i++) set.add(i), set.delete(i);
    expect(set.renewals).toBe(0);
    set.add(1);
    expect(set.renewals).toBe(1);
    expect([...set]).toEqual([1]);
  });
});

describe("what a long-lived table with churn promotes (V8's old generation)", () => {
  const CHILD = fileURLToPath(new URL("../../../testkit/gc/map-churn.ts", import.meta.url));
  const ENTRIES = "300000";
  const promoted = async (kind: string) => (await measurePromotion(CHILD, [kind, ENTRIES, "32"], { nodeFlags: ["--expose-gc"] })).promotedBytes;

  it("as a Map, many times what the values alone need; as a RenewingMap, about what they need", async () => {
    const [map, renewing, ring] = [await promoted("map"), await promoted("renewing"), await promoted("ring")];
    // The ring (no hash table) is the floor. A Map promotes several times
    // it — the effect this class exists for — and a RenewingMap stays near it.
    expect(map).toBeGreaterThan(4 * ring);
    expect(renewing).toBeLessThan(3 * ring);
    expect(renewing).toBeLessThan(map / 3);
  }, 60_000);
});
