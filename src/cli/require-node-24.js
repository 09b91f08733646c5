/**
 * Imported first by the CLI: refuses Node older than 24. npm falls back to
 * the system Node when the pinned `node` package was not installed (for
 * example `npm ci --ignore-scripts`), and older Nodes either cannot strip
 * TypeScript types or strip them differently (DECISIONS D1).
 */
const major = Number(process.versions.node.split(".")[0]);
if (major < 24) {
  process.stderr.write(
    `spider-storage needs Node.js 24 or newer; this is ${process.version} (${process.execPath}).\n` +
      `Run it through npm (\`npm start\`), which uses the Node 24 that \`npm ci\` installs into node_modules, ` +
      `or put node_modules/.bin first on PATH.\n`,
  );
  process.exit(1);
}
// Cache compiled code between runs: the commands load their modules lazily, so
// most of the program benefits (the cache lives in the OS temp directory).
const nodeModule = await import("node:module");
nodeModule.enableCompileCache?.();
export {};
