/**
 * Bundles the program (src/cli/main.ts and what it loads, dependencies included)
 * into dist/bundle/ for a faster start (issue 20.5): Node's module loader spends
 * more time resolving and linking some nine hundred modules one by one than
 * running them. `npm ci` builds it (the `prepare` script); `npm run bundle`
 * rebuilds it. The `bin` entry (src/cli/spider-storage.js) runs it only while
 * it matches the sources it was built from (src/cli/fresh-bundle.js), and the
 * sources otherwise: the bundle changes how fast the program starts, never
 * what it does.
 *
 *   node scripts/bundle.ts [--out DIR] [--if-available]
 *
 * --out: another directory, inside the project (a few packages — the ones named
 * in EXTERNAL, pino-pretty, yaml — read from
 * node_modules at run time).
 * --if-available: succeed without building when the bundler is not installed
 * (a production install, `npm ci --omit=dev`, has no dev dependencies).
 */
import { cp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { BUNDLE_DIR, BUNDLE_ENTRY, BUNDLE_MANIFEST, CHECKED_BY_CONTENT, sha256Of, type BundleInput, type BundleManifest } from "../src/cli/fresh-bundle.js";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

/**
 * Left out of the bundle, loaded from node_modules at run time: reflection
 * reads its .proto files from its own package directory, and loads only on
 * its first call (src/grpc/reflection.ts); proto-loader (and protobufjs with
 * it) is required only inside functions of grpc-js that this server never
 * calls (channelz, ORCA) and by reflection, so bundled it was only ~370 KB
 * more for every start to compile.
 */
const EXTERNAL = [/^@grpc\/reflection(\/|$)/, /^@grpc\/proto-loader(\/|$)/];

/**
 * CommonJS dependencies bundled into ES modules still name their own file and
 * directory (grpc-js's channelz, pino's transports — paths taken only when used).
 */
const BANNER = [
  'import { fileURLToPath as __bundleFileUrlToPath } from "node:url";',
  'import { dirname as __bundleDirname } from "node:path";',
  "const __filename = __bundleFileUrlToPath(import.meta.url);",
  "const __dirname = __bundleDirname(__filename);",
].join(" ");

/** Builds the bundle into `outDir` (default dist/bundle) and returns its manifest. */
export async function buildBundle(outDir: string = join(ROOT, BUNDLE_DIR)): Promise<BundleManifest> {
  const { build } = await import("rolldown");
  await rm(outDir, { recursive: true, force: true });
  const result = await build({
    input: join(ROOT, "src/cli/main.ts"),
    platform: "node",
    external: EXTERNAL,
    logLevel: "warn",
    output: {
      dir: outDir,
      format: "esm",
      entryFileNames: BUNDLE_ENTRY,
      chunkFileNames: "[name]-[hash].mjs",
      banner: BANNER,
      sourcemap: true,
    },
  });
  // The console's own files, where src/console/static-assets.ts looks for them beside its module.
  await cp(join(ROOT, "src/console/assets"), join(outDir, "assets"), { recursive: true });

  // The project's own files the bundle holds, and the lock file standing for every dependency.
  const own = new Set<string>(["package.json", "package-lock.json"]);
  for (const chunk of result.output) {
    if (chunk.type !== "chunk") continue;
    for (const id of chunk.moduleIds) {
      if (!id.startsWith(ROOT) || id.includes(`${sep}node_modules${sep}`)) continue;
      own.add(relative(ROOT, id).split(sep).join("/"));
    }
  }
  const inputs: BundleInput[] = [];
  for (const path of [...own].sort()) {
    const info = await stat(join(ROOT, path));
    const sha256 = CHECKED_BY_CONTENT.has(path) ? sha256Of(await readFile(join(ROOT, path))) : undefined;
    inputs.push({ path, size: info.size, mtimeMs: info.mtimeMs, ...(sha256 !== undefined && { sha256 }) });
  }
  const manifest: BundleManifest = { entry: BUNDLE_ENTRY, inputs };
  await writeFile(join(outDir, BUNDLE_MANIFEST), `${JSON.stringify(manifest, null, 1)}\n`);
  return manifest;
}

async function bundlerInstalled(): Promise<boolean> {
  try {
    await import("rolldown");
    return true;
  } catch {
    return false;
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { out: { type: "string" }, "if-available": { type: "boolean", default: false } } });
  if (values["if-available"] && !(await bundlerInstalled())) {
    process.stdout.write("bundle: rolldown not installed (a production install?): the program runs from its sources\n");
  } else {
    const outDir = values.out === undefined ? undefined : resolve(values.out);
    const t0 = performance.now();
    const manifest = await buildBundle(outDir);
    process.stdout.write(`bundle: ${manifest.inputs.length} project files bundled in ${Math.round(performance.now() - t0)} ms\n`);
  }
}
