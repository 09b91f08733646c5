/**
 * node:http and node:https without their ES-module facades. Importing `node:http`
 * as an ES module reads every one of its exports, the lazy ones too, and so loads
 * fetch's undici and the web streams: ~30–50 ms of every start (issue 20.5).
 * process.getBuiltinModule hands back the CommonJS module as it is.
 */
export const nodeHttp = (): typeof import("node:http") => process.getBuiltinModule("node:http");
export const nodeHttps = (): typeof import("node:https") => process.getBuiltinModule("node:https");
