/**
 * Loads our modules a second time with one source file taken from another git
 * revision (or from a file outside the repository), so that a micro-benchmark
 * times the old and the new code in the same process, alternating, under the
 * same load (no checkout, no stash).
 *
 * The old file is written to a temporary directory outside the repository.
 * The second copies are told apart by a `?baseline` query on their URLs, and
 * every module of ours that a baseline module imports is a baseline copy too,
 * so each side sees its own classes (an `instanceof JsonNumber` in the new
 * json-fields never meets a JsonNumber of the old strict-json).
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { registerHooks } from "node:module";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const REPO = new URL("../../", import.meta.url);
const SRC = new URL("src/", REPO);
const BASELINE = "?baseline";

export interface Baseline {
  /** Where the replaced file was read from: `<commit> (<revision>)` or the file's path. */
  readonly source: string;
  /** Imports a module of ours (path from the repository root) as the baseline sees it. */
  import<T>(path: string): Promise<T>;
}

/**
 * Replaces `replacedPath` (from the repository root) in every baseline import
 * by its text at `revisionOrFile`: a git revision, or the path of a file.
 */
export function loadBaseline(replacedPath: string, revisionOrFile: string): Baseline {
  const cwd = fileURLToPath(REPO);
  let source = revisionOrFile;
  let oldText: string;
  if (existsSync(revisionOrFile)) {
    oldText = readFileSync(revisionOrFile, "utf8");
  } else {
    const commit = execFileSync("git", ["rev-parse", "--verify", `${revisionOrFile}^{commit}`], { cwd, encoding: "utf8" }).trim();
    source = `${commit.slice(0, 12)} (${revisionOrFile})`;
    oldText = execFileSync("git", ["show", `${commit}:${replacedPath}`], { cwd, encoding: "utf8" });
  }
  const directory = mkdtempSync(join(tmpdir(), "spider-storage-baseline-"));
  // .mts: an ES module wherever it lies (no package.json there says "type": "module").
  const oldFile = join(directory, basename(replacedPath).replace(/\.ts$/, ".mts"));
  writeFileSync(oldFile, oldText);
  const oldUrl = pathToFileURL(oldFile).href;
  const replacedUrl = new URL(replacedPath, REPO).href;

  registerHooks({
    resolve(specifier, context, nextResolve) {
      const parent = context.parentURL;
      if (parent === undefined || !parent.endsWith(BASELINE)) {
        return nextResolve(specifier, context);
      }
      // The old file's relative imports mean what they meant beside the file it replaces.
      const base = parent.startsWith(oldUrl) ? replacedUrl : parent.slice(0, -BASELINE.length);
      const resolved = nextResolve(specifier, { ...context, parentURL: base });
      if (resolved.url === replacedUrl) {
        return { url: oldUrl + BASELINE, shortCircuit: true };
      }
      if (resolved.url.startsWith(SRC.href)) {
        return { ...resolved, url: resolved.url + BASELINE, shortCircuit: true };
      }
      return resolved;
    },
  });

  return {
    source,
    import: async <T>(path: string): Promise<T> => {
      const url = new URL(path, REPO).href;
      return (await import(url === replacedUrl ? oldUrl + BASELINE : url + BASELINE)) as T;
    },
  };
}
