/**
 * The layer rules of the README ("How it works"), checked on the real import
 * graph of src/ (dependency-cruiser, type-only imports included): no cycle
 * between files or between folders, and each folder imports only the folders
 * its layer may use. A new import that breaks a rule fails here, naming it.
 */
import { cruise, type ICruiseResult } from "dependency-cruiser";
import { beforeAll, describe, expect, it } from "vitest";

/** What each folder of src/ may import, besides itself. Every layer may log and count (observability). */
const MAY_IMPORT: Readonly<Record<string, readonly string[]>> = {
  core: [],
  gen: [],
  observability: ["core"],
  config: ["core", "observability"],
  db: ["core", "observability"],
  queue: ["core", "observability"],
  instances: ["core", "observability"],
  embedded: ["core", "observability"],
  cache: ["core", "observability", "db", "queue", "instances"],
  recovery: ["core", "observability", "db", "cache", "queue", "instances"],
  checkpoints: ["core", "observability", "db", "cache"],
  service: ["core", "observability", "db", "cache", "queue", "instances", "recovery", "checkpoints"],
  admin: ["core", "observability", "db", "cache", "queue", "instances", "recovery", "checkpoints", "service", "config", "gen"],
  grpc: ["core", "observability", "service", "admin", "gen", "config"],
  // The web console reads and repairs through the admin use cases, as the admin API does (never SQL of its own).
  console: ["core", "observability", "config", "service", "admin", "gen"],
  app: ["core", "observability", "config", "db", "embedded", "queue", "instances", "cache", "recovery", "checkpoints", "service", "admin", "grpc", "gen", "console"],
  // The admin client (src/cli/admin-client.ts) speaks through src/grpc's adapter; offline commands use src/db.
  cli: ["core", "observability", "config", "db", "embedded", "app", "admin", "grpc", "gen"],
};

type Graph = Map<string, Set<string>>;

let files: Graph;

function folderOf(file: string): string {
  return file.split("/")[1]!;
}

/** Strongly connected components with more than one node (or a self-loop): the cycles. */
function cycles(graph: Graph): string[][] {
  let index = 0;
  const indices = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string): void => {
    indices.set(node, index);
    low.set(node, index);
    index++;
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!indices.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, indices.get(next)!));
      }
    }
    if (low.get(node) === indices.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1 || graph.get(node)?.has(node)) found.push(component.sort());
    }
  };
  for (const node of graph.keys()) if (!indices.has(node)) visit(node);
  return found;
}

beforeAll(async () => {
  const result = await cruise(["src"], {
    tsPreCompilationDeps: true,
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^src/gen/" },
  });
  const output = result.output as ICruiseResult;
  files = new Map();
  for (const module of output.modules) {
    if (!module.source.startsWith("src/")) continue;
    const targets = new Set<string>();
    for (const dependency of module.dependencies) {
      if (dependency.resolved.startsWith("src/")) targets.add(dependency.resolved);
    }
    files.set(module.source, targets);
  }
}, 60_000);

describe("the import graph of src/", () => {
  it("reads every source file (the check is not vacuous)", () => {
    expect(files.size).toBeGreaterThan(150);
    expect(files.get("src/app/storage-server.ts")?.size).toBeGreaterThan(5);
  });

  it("has no import cycle between files", () => {
    expect(cycles(files)).toEqual([]);
  });

  it("has no import cycle between folders", () => {
    const folders: Graph = new Map();
    for (const [file, targets] of files) {
      const from = folderOf(file);
      const edges = folders.get(from) ?? new Set<string>();
      folders.set(from, edges);
      for (const target of targets) if (folderOf(target) !== from) edges.add(folderOf(target));
    }
    expect(cycles(folders)).toEqual([]);
  });

  it("imports only what each layer may use", () => {
    const violations: string[] = [];
    for (const [file, targets] of files) {
      const from = folderOf(file);
      const allowed = MAY_IMPORT[from];
      if (allowed === undefined) {
        violations.push(`${file}: folder src/${from} has no layer rule`);
        continue;
      }
      for (const target of targets) {
        const to = folderOf(target);
        if (to !== from && !allowed.includes(to)) violations.push(`${file} → ${target}`);
      }
    }
    expect(violations).toEqual([]);
  });
});
