/**
 * The bundle `npm start` runs (scripts/bundle.ts), made current before the
 * bench starts servers through the `bin` entry: the start-up ceiling and W4
 * measure the program as it ships. A bundle that does not match the sources
 * is rebuilt first; the entry would otherwise run the sources, silently.
 */
import { fileURLToPath } from "node:url";
import { buildBundle } from "../../scripts/bundle.ts";
import { freshBundle } from "../../src/cli/fresh-bundle.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Builds the bundle when it does not match the sources; true when it had to. */
export async function ensureFreshBundle(): Promise<boolean> {
  if (freshBundle(ROOT) !== undefined) return false;
  await buildBundle();
  if (freshBundle(ROOT) === undefined) throw new Error("the bundle does not match the sources right after it was built");
  return true;
}
