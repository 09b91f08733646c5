#!/usr/bin/env node
// The `spider-storage` program's entry (package.json `bin` and `npm start`),
// in plain JavaScript so that a Node too old to load TypeScript still runs
// the version check and says why it refuses (DECISIONS D1).
import "./require-node-24.js";

await import("./main.ts");
