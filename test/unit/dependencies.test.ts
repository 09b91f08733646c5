/**
 * The package's dependencies and entry point (DECISIONS D1):
 * - the service's code imports only production dependencies, so
 *   `npm ci --omit=dev` gives a working install on a system Node ≥ 24;
 * - every listed dependency is used (no dead weight in a production install) —
 *   imported by the service, or served to browsers by the web console (its
 *   browser code in src/console/assets/ is not Node code and is not scanned);
 * - the entry point `npm start` and the `bin` run is plain JavaScript, so an
 *   older Node (here the system's Node 20) loads it and refuses with a message
 *   saying why, instead of failing on a `.ts` extension it cannot load.
 */
import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../testkit/server-process.ts";

const run = promisify(execFile);

interface PackageJson {
  bin: Record<string, string>;
  scripts: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
}
const pkg = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as PackageJson;

/** Development tools used as programs or types, never imported by name. */
const TOOLS = new Set(["node", "typescript", "vitest", "@bufbuild/buf", "@bufbuild/protoc-gen-es", "@types/node", "@types/cli-progress"]);

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(REPO_ROOT, dir), { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== "node_modules" && entry.name !== "peers" && path !== join("src", "console", "assets")) out.push(...sourceFiles(path));
    } else if (/\.(ts|js|mjs)$/.test(entry.name)) out.push(path);
  }
  return out;
}

/** Package names a file imports (static, dynamic and side-effect imports). */
function importedPackages(file: string): string[] {
  const text = readFileSync(join(REPO_ROOT, file), "utf8");
  const names: string[] = [];
  for (const match of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)["']([^"'.][^"']*)["']/g)) {
    const specifier = match[1]!;
    if (specifier.startsWith("node:")) continue;
    const parts = specifier.split("/");
    names.push(specifier.startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0]!);
  }
  return names;
}

/** Packages whose browser builds the web console serves (src/console/static-assets.ts: `["<package>", "dist/…"]`). */
function servedPackages(): string[] {
  const text = readFileSync(join(REPO_ROOT, "src/console/static-assets.ts"), "utf8");
  return [...text.matchAll(/\[\s*"((?:@[^"/]+\/)?[^"/]+)",\s*"dist\//g)].map((match) => match[1]!);
}

describe("dependencies", () => {
  const serviceImports = new Map<string, string>();
  for (const file of [...sourceFiles("src"), ...sourceFiles("migrations")]) {
    for (const name of importedPackages(file)) serviceImports.set(name, file);
  }
  for (const name of servedPackages()) serviceImports.set(name, "src/console/static-assets.ts");
  const testImports = new Set([...sourceFiles("test"), ...sourceFiles("testkit"), ...sourceFiles("bench"), ...sourceFiles("scripts"), "vitest.config.ts"].flatMap(importedPackages));

  it("the service's code imports only production dependencies (npm ci --omit=dev is enough to run it)", () => {
    const missing = [...serviceImports].filter(([name]) => !(name in pkg.dependencies)).map(([name, file]) => `${name} (${file})`);
    expect(missing).toEqual([]);
  });

  it("every production dependency is imported by the service", () => {
    expect(Object.keys(pkg.dependencies).filter((name) => !serviceImports.has(name))).toEqual([]);
  });

  it("every development dependency is imported by a test, the test kit, a benchmark or a build script, or is a tool", () => {
    const unused = Object.keys(pkg.devDependencies).filter((name) => !TOOLS.has(name) && !testImports.has(name) && !serviceImports.has(name));
    expect(unused).toEqual([]);
  });
});

const entry = pkg.bin["spider-storage"]!;

/** A Node older than 24 on this machine, if there is one (the system's, usually). */
function oldNode(): string | undefined {
  for (const candidate of ["/usr/bin/node", "/usr/local/bin/node", "/bin/node"]) {
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

describe("the entry point", () => {
  it("npm start runs the bin entry", () => {
    expect(pkg.scripts["start"]).toBe(`exec node ${entry} serve`);
  });

  it("runs on this Node 24", async () => {
    const { stdout } = await run(process.execPath, [join(REPO_ROOT, entry), "--version"], { cwd: REPO_ROOT });
    expect(stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  const old = oldNode();
  it.skipIf(old === undefined)("refuses an older Node with a message saying why (exit 1)", async () => {
    const { stdout: version } = await run(old!, ["--version"]);
    const major = Number(version.trim().slice(1).split(".")[0]);
    expect(major, `${old} is Node ${version.trim()}; this case needs one older than 24`).toBeLessThan(24);
    const error = (await run(old!, [join(REPO_ROOT, entry), "--version"], { cwd: REPO_ROOT }).catch((e: unknown) => e)) as {
      code: number;
      stderr: string;
    };
    expect(error.code).toBe(1);
    expect(error.stderr).toContain("spider-storage needs Node.js 24 or newer");
    expect(error.stderr).toContain("npm ci --omit=dev");
  });
});
