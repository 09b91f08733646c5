#!/usr/bin/env node
// The `spider-storage` program's entry (package.json `bin` and `npm start`),
// in plain JavaScript so that a Node too old to load TypeScript still runs
// the version check and says why it refuses (DECISIONS D1). It runs the
// bundle in dist/bundle/ while that matches the sources (a faster start,
// scripts/bundle.ts), and the sources otherwise.
import { fileURLToPath } from "node:url";
import "./require-node-24.js";
import { freshBundle } from "./fresh-bundle.js";

await import(freshBundle(fileURLToPath(new URL("../../", import.meta.url))) ?? "./main.ts");
