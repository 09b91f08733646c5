/**
 * Whether the bundle in dist/bundle/ (scripts/bundle.ts) still matches the
 * project files it was built from. Plain JavaScript, like the entry that asks:
 * it runs before anything else loads. Every project file the bundle holds is
 * checked by size and modification time (a few hundred stat calls, ~2 ms);
 * dependencies are stood for by package-lock.json. Any doubt — no bundle, an
 * unreadable manifest, a file changed or gone —
 * answers undefined, and the program runs from its sources: a stale bundle is
 * never run.
 */
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

export const BUNDLE_DIR = "dist/bundle";
export const BUNDLE_ENTRY = "main.mjs";
export const BUNDLE_MANIFEST = "manifest.json";

/**
 * @typedef {{ entry: string, inputs: { path: string, size: number, mtimeMs: number }[] }} BundleManifest
 */

/**
 * The bundle's entry as a file URL, or undefined when there is no current bundle.
 * @param {string} root the project's directory
 * @returns {string | undefined}
 */
export function freshBundle(root) {
  try {
    const dir = join(root, BUNDLE_DIR);
    /** @type {BundleManifest} */
    const manifest = JSON.parse(readFileSync(join(dir, BUNDLE_MANIFEST), "utf8"));
    if (typeof manifest.entry !== "string" || !Array.isArray(manifest.inputs) || manifest.inputs.length === 0) return undefined;
    for (const input of manifest.inputs) {
      const info = statSync(join(root, input.path), { throwIfNoEntry: false });
      if (info === undefined || info.size !== input.size || info.mtimeMs !== input.mtimeMs) return undefined;
    }
    const entry = join(dir, manifest.entry);
    if (statSync(entry, { throwIfNoEntry: false }) === undefined) return undefined;
    return pathToFileURL(entry).href;
  } catch {
    return undefined;
  }
}
