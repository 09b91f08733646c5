/**
 * Imported by the entries right after require-node-24.js, before anything
 * else is loaded: turns off V8's allocation-site pretenuring for this process
 * unless the command line set it either way (`node
 * --allocation-site-pretenuring …` keeps it on).
 *
 * Why: with pretenuring, V8 soon decides that some of a gRPC call's objects
 * (grpc-js's and node:http2's per-call objects, allocated at the same sites
 * for every call) are long-lived and allocates them straight into the old
 * generation. They are not: they die with the call, but an old object is only
 * freed by a mark-compact, and until then every young object it points to
 * survives each scavenge and is promoted, pointing in turn at younger ones.
 * So nearly every call's objects end up copied twice and promoted. Measured
 * on the server under GetSession load (with the stream tables renewed,
 * src/grpc/http2-stream-tables.ts), bench/micro/call-promotion.ts: 0 bytes
 * promoted per call instead of ~3 KB, and ~20 % less CPU per call (README,
 * Performance); either change alone does nothing. Plain JavaScript, like
 * require-node-24.js.
 */
import { setFlagsFromString } from "node:v8";

const FLAG = /^--(no-)?allocation[-_]site[-_]pretenuring$/;

/** The V8 flag to set for a process started with `execArgv`, or undefined when its command line chose. */
export function pretenuringFlag(execArgv) {
  return execArgv.some((arg) => FLAG.test(arg)) ? undefined : "--no-allocation-site-pretenuring";
}

const flag = pretenuringFlag(process.execArgv);
if (flag !== undefined) setFlagsFromString(flag);
