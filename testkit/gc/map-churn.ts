/**
 * The child of a map-churn measurement: a long-lived table through which
 * `entries` values pass (each added, then deleted `live` insertions later),
 * as a Map, as a RenewingMap (src/core/renewing-map.ts), or as a ring of
 * `live` slots (no hash table at all: the floor). A mark-compact first moves
 * the table to the old generation, as a server's tables are after their first
 * minutes. Run with --expose-gc.
 *
 *   node --expose-gc testkit/gc/map-churn.ts map|renewing|ring ENTRIES LIVE
 */
import { RenewingMap } from "../../src/core/renewing-map.ts";

const [kind, entriesArg, liveArg] = process.argv.slice(2);
const entries = Number(entriesArg);
const live = Number(liveArg);
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("run with --expose-gc");

/** About 300 bytes of young objects per value, like a small request's records. */
function value(i: number): object {
  return { id: i, fields: [i, i + 1, i + 2, i + 3, i + 4, i + 5, i + 6, i + 7], name: `value-${i}` };
}

if (kind === "ring") {
  const ring: object[] = new Array<object>(live);
  gc();
  for (let i = 0; i < entries; i++) ring[i % live] = value(i);
} else if (kind === "map" || kind === "renewing") {
  const table = kind === "map" ? new Map<number, object>() : new RenewingMap<number, object>();
  for (let i = 0; i < live; i++) table.set(i, value(i));
  gc();
  for (let i = live; i < entries; i++) {
    table.set(i, value(i));
    table.delete(i - live);
  }
} else {
  throw new Error(`unknown kind ${kind}`);
}
process.stdout.write("done\n");
