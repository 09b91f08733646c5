/**
 * The console's page, scripts and styles, read once at start into memory:
 * its own files (src/console/assets/) and the two libraries it draws with,
 * served from their npm packages' browser builds — dagre lays out task
 * graphs, panzoom pans and zooms them. Only these names are served (a map
 * lookup, so no path can reach another file); each with an ETag, so a
 * browser revalidates instead of downloading again.
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, extname, join } from "node:path";
import { fileURLToPath } from "node:url";

export interface StaticAsset {
  readonly body: Buffer;
  readonly contentType: string;
  readonly etag: string;
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
};

/** Browser builds of the libraries, as URL path → package and file inside it. */
const VENDOR_FILES: Readonly<Record<string, readonly [string, string]>> = {
  "/vendor/dagre.min.js": ["@dagrejs/dagre", "dist/dagre.min.js"],
  "/vendor/panzoom.min.js": ["@panzoom/panzoom", "dist/panzoom.min.js"],
};

function asset(path: string): StaticAsset {
  const body = readFileSync(path);
  return {
    body,
    contentType: CONTENT_TYPES[extname(path)] ?? "application/octet-stream",
    etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"`,
  };
}

/** Every file the console serves, by URL path. */
export function loadStaticAssets(): ReadonlyMap<string, StaticAsset> {
  const assets = new Map<string, StaticAsset>();
  const own = fileURLToPath(new URL("./assets/", import.meta.url));
  for (const name of readdirSync(own)) {
    if (CONTENT_TYPES[extname(name)] !== undefined) assets.set(`/assets/${name}`, asset(join(own, name)));
  }
  const index = assets.get("/assets/index.html");
  if (index !== undefined) assets.set("/", index);
  const require = createRequire(import.meta.url);
  for (const [path, [pkg, file]] of Object.entries(VENDOR_FILES)) {
    assets.set(path, asset(join(dirname(require.resolve(`${pkg}/package.json`)), file)));
  }
  return assets;
}
