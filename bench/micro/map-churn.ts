/**
 * Bytes promoted to V8's old generation per value passing through a
 * long-lived table (testkit/gc/map-churn.ts): a Map, a RenewingMap
 * (src/core/renewing-map.ts), and a ring of slots (no hash table: the floor).
 * Each run is its own process under --trace-gc-nvp; rows are medians.
 *
 *   node bench/micro/map-churn.ts [--entries 1000000] [--live 32] [--rounds 3]
 */
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { measurePromotion } from "../../testkit/gc/promotion.ts";
import { percentile } from "../lib/stats.ts";

const { values: options } = parseArgs({
  options: { entries: { type: "string", default: "1000000" }, live: { type: "string", default: "32" }, rounds: { type: "string", default: "3" } },
});
const CHILD = fileURLToPath(new URL("../../testkit/gc/map-churn.ts", import.meta.url));
const KINDS = ["map", "renewing", "ring"] as const;
const entries = Number(options.entries);

const perEntry = new Map<string, number[]>(KINDS.map((kind) => [kind, []]));
for (let round = 0; round < Number(options.rounds); round++) {
  for (const kind of KINDS) {
    const reading = await measurePromotion(CHILD, [kind, options.entries!, options.live!], { nodeFlags: ["--expose-gc"] });
    perEntry.get(kind)!.push(reading.promotedBytes / entries);
  }
}
console.log(`| Table (${entries} values through it, ${options.live} live at a time) | Promoted per value |`);
console.log("|---|---:|");
for (const kind of KINDS) console.log(`| ${kind} | ${percentile([...perEntry.get(kind)!].sort((a, b) => a - b), 50).toFixed(1)} B |`);
