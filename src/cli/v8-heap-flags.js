/**
 * Turns off V8's allocation-site pretenuring for the serving process, unless
 * its command line set it either way (`node --allocation-site-pretenuring …`
 * keeps it on). The serve command calls {@link turnOffPretenuring} once the
 * server's modules are loaded and before it answers its first call.
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
 * Performance); either change alone does nothing.
 *
 * Why not first thing, as before: setting any V8 flag changes the hash V8
 * checks code caches against, so the code cache Node embeds for its own
 * built-in modules (node:http2, node:tls, node:zlib, …) is refused for every
 * built-in loaded afterwards and each is compiled from its source — measured
 * here, loading node:http2, node:zlib and node:child_process took 43–50 ms
 * after the flag against 18–26 ms without. The flag decides nothing until
 * calls run, so it is set once start-up has loaded what it needs.
 * Plain JavaScript, like require-node-24.js.
 */

const FLAG = /^--(no-)?allocation[-_]site[-_]pretenuring$/;

/** The V8 flag to set for a process started with `execArgv`, or undefined when its command line chose. */
export function pretenuringFlag(execArgv) {
  return execArgv.some((arg) => FLAG.test(arg)) ? undefined : "--no-allocation-site-pretenuring";
}

/** Sets {@link pretenuringFlag} for this process (nothing when the command line chose). */
export function turnOffPretenuring() {
  const flag = pretenuringFlag(process.execArgv);
  if (flag === undefined) return;
  // Node loads node:perf_hooks on the first read of the global `performance`, which the server
  // makes only once it starts (its clocks): read it now, while built-ins still get their cache.
  void globalThis.performance;
  // node:v8 only now: the module is not needed before.
  process.getBuiltinModule("node:v8").setFlagsFromString(flag);
}
