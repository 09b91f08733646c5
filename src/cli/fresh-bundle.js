/**
 * Whether the bundle in dist/bundle/ (scripts/bundle.ts) still matches the
 * project files it was built from. Plain JavaScript, like the entry that asks:
 * it runs before anything else loads. Every project file the bundle holds is
 * checked by size and modification time (a few hundred stat calls);
 * dependencies are stood for by package-lock.json, checked by its content.
 * Any doubt — no bundle, an unreadable manifest, a file changed or gone —
 * answers undefined, and the program runs from its sources: a stale bundle is
 * never run.
 */
import { createHash } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

export const BUNDLE_DIR = "dist/bundle";
export const BUNDLE_ENTRY = "main.mjs";
export const BUNDLE_MANIFEST = "manifest.json";

/**
 * @typedef {{ path: string, size: number, mtimeMs: number, sha256?: string }} BundleInput
 * @typedef {{ entry: string, inputs: BundleInput[] }} BundleManifest
 */

/**
 * Files checked by content rather than by modification time: npm rewrites the
 * lock file unchanged (`npm prune --omit=dev` does), and it is one file.
 */
export const CHECKED_BY_CONTENT = new Set(["package-lock.json"]);

/** @param {Uint8Array} bytes */
export function sha256Of(bytes) {
  return createHash("sha256").update(bytes).digest("hex");
}

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
      const path = join(root, input.path);
      const info = statSync(path, { throwIfNoEntry: false });
      if (info === undefined || info.size !== input.size) return undefined;
      if (input.sha256 !== undefined) {
        if (sha256Of(readFileSync(path)) !== input.sha256) return undefined;
      } else if (info.mtimeMs !== input.mtimeMs) return undefined;
    }
    const entry = join(dir, manifest.entry);
    if (statSync(entry, { throwIfNoEntry: false }) === undefined) return undefined;
    return pathToFileURL(entry).href;
  } catch {
    return undefined;
  }
}
