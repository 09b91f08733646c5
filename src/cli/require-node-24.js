/**
 * Imported first by the entry (./spider-storage.js) and by main.ts: refuses
 * Node older than 24. Plain JavaScript, so any Node can load it and say why
 * (Node 20 cannot even load a `.ts` file). npm runs `npm start` on the Node 24
 * that `npm ci` installs into node_modules (the `node` dev dependency); a
 * production install (`npm ci --omit=dev`) has no such Node and runs on the
 * system's, which must then be 24 or newer (DECISIONS D1). npm also falls back
 * to the system Node when install scripts were skipped (`--ignore-scripts`).
 */
const major = Number(process.versions.node.split(".")[0]);
if (major < 24) {
  process.stderr.write(
    `spider-storage needs Node.js 24 or newer; this is ${process.version} (${process.execPath}).\n` +
      "`npm ci && npm start` uses the Node 24 that `npm ci` installs into node_modules (a dev dependency); " +
      "a production install (`npm ci --omit=dev`) runs on the system's Node, which must be 24 or newer.\n",
  );
  process.exit(1);
}
// Cache compiled code between runs: the commands load their modules lazily, so
// most of the program benefits (the cache lives in the OS temp directory).
const nodeModule = await import("node:module");
nodeModule.enableCompileCache?.();
export {};
