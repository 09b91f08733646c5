import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { BUNDLE_DIR, BUNDLE_ENTRY, BUNDLE_MANIFEST, CHECKED_BY_CONTENT, freshBundle, sha256Of } from "../../../src/cli/fresh-bundle.js";

const roots: string[] = [];
afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

/** A project with two source files and a bundle built from them. */
function projectWithBundle(): string {
  const root = mkdtempSync(join(tmpdir(), "fresh-bundle-"));
  roots.push(root);
  mkdirSync(join(root, "src"));
  writeFileSync(join(root, "src/a.ts"), "export const a = 1;\n");
  writeFileSync(join(root, "package-lock.json"), "{}\n");
  mkdirSync(join(root, BUNDLE_DIR), { recursive: true });
  writeFileSync(join(root, BUNDLE_DIR, BUNDLE_ENTRY), "export {};\n");
  const inputs = ["src/a.ts", "package-lock.json"].map((path) => {
    const info = statSync(join(root, path));
    const sha256 = CHECKED_BY_CONTENT.has(path) ? sha256Of(readFileSync(join(root, path))) : undefined;
    return { path, size: info.size, mtimeMs: info.mtimeMs, ...(sha256 !== undefined && { sha256 }) };
  });
  writeFileSync(join(root, BUNDLE_DIR, BUNDLE_MANIFEST), JSON.stringify({ entry: BUNDLE_ENTRY, inputs }));
  return root;
}

describe("freshBundle (which entry the bin runs)", () => {
  it("names the bundle's entry while every file it was built from is unchanged", () => {
    const root = projectWithBundle();
    expect(freshBundle(root)).toBe(pathToFileURL(join(root, BUNDLE_DIR, BUNDLE_ENTRY)).href);
  });

  it("runs the sources once a source file is edited, even to the same size", () => {
    const root = projectWithBundle();
    expect(freshBundle(root)).toBeDefined();
    writeFileSync(join(root, "src/a.ts"), "export const a = 2;\n");
    const later = new Date(statSync(join(root, "src/a.ts")).mtimeMs + 5_000);
    utimesSync(join(root, "src/a.ts"), later, later);
    expect(freshBundle(root)).toBeUndefined();
  });

  it("runs the sources once the dependencies change (package-lock.json stands for them), even at the same size", () => {
    const root = projectWithBundle();
    expect(freshBundle(root)).toBeDefined();
    writeFileSync(join(root, "package-lock.json"), "[]\n");
    expect(freshBundle(root)).toBeUndefined();
  });

  it("keeps the bundle when npm rewrites the lock file unchanged (npm prune --omit=dev)", () => {
    const root = projectWithBundle();
    writeFileSync(join(root, "package-lock.json"), "{}\n");
    const later = new Date(statSync(join(root, "package-lock.json")).mtimeMs + 5_000);
    utimesSync(join(root, "package-lock.json"), later, later);
    expect(freshBundle(root)).toBe(pathToFileURL(join(root, BUNDLE_DIR, BUNDLE_ENTRY)).href);
  });

  it("runs the sources when a file the bundle holds is gone", () => {
    const root = projectWithBundle();
    expect(freshBundle(root)).toBeDefined();
    rmSync(join(root, "src/a.ts"));
    expect(freshBundle(root)).toBeUndefined();
  });

  it("runs the sources without a bundle, with an unreadable manifest, or without the entry file", () => {
    const root = projectWithBundle();
    expect(freshBundle(root)).toBeDefined();
    rmSync(join(root, BUNDLE_DIR, BUNDLE_ENTRY));
    expect(freshBundle(root)).toBeUndefined();
    writeFileSync(join(root, BUNDLE_DIR, BUNDLE_MANIFEST), "{ not json");
    expect(freshBundle(root)).toBeUndefined();
    rmSync(join(root, BUNDLE_DIR), { recursive: true });
    expect(freshBundle(root)).toBeUndefined();
  });
});
