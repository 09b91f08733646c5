/**
 * Renews node:http2's table of each server session's open streams every
 * {@link RENEW_EVERY_STREAMS} streams.
 *
 * node:http2 keeps a session's open streams in one Map for the session's
 * whole life, and a client's connection carries every call it makes. When V8
 * rehashes a Map it leaves the old hash table pointing at the new one; once a
 * table is in the old generation (after any mark-compact) and is replaced,
 * that dead table keeps every later table — and every stream any of them
 * held, with the call's objects behind it — alive through the scavenges until
 * the next mark-compact (core/renewing-map.ts says the same of our own
 * tables; bench/micro/map-churn.ts measures it). A fresh Map with the open
 * streams ends the chain. Together with pretenuring off
 * (src/cli/v8-heap-flags.js) a no-op call promotes nothing instead of ~3 KB
 * (bench/micro/call-promotion.ts; either change alone makes no difference;
 * README, Performance, the eighth part).
 *
 * This reaches into Node's internals: the session's state object (the own
 * symbol described "state") and its `streams` Map, reached from the public
 * "http2.server.stream.created" diagnostics channel. Where either is missing
 * (another Node version) it stops and says so once (`onUnsupported`); only
 * memory behaviour differs, never an answer.
 */
import { subscribe } from "node:diagnostics_channel";
import type { Http2Session, ServerHttp2Stream } from "node:http2";
import { types } from "node:util";

/** Streams a session opens between two renewals of its table. */
export const RENEW_EVERY_STREAMS = 64;

const CHANNEL = "http2.server.stream.created";

export interface StreamTableRenewal {
  /** Whether renewals run in this process (false: this Node keeps its streams elsewhere). */
  readonly active: boolean;
  /** Tables renewed so far, all sessions together. */
  readonly renewals: number;
}

let installed = false;
let active = true;
let renewals = 0;
let onUnsupported: ((reason: string) => void) | undefined;
const opened = new WeakMap<Http2Session, number>();

interface SessionState {
  streams?: unknown;
}

function onStreamCreated(message: unknown): void {
  if (!active) return;
  const session = (message as { stream?: ServerHttp2Stream }).stream?.session;
  if (session === undefined) return;
  const count = (opened.get(session) ?? 0) + 1;
  opened.set(session, count);
  if (count % RENEW_EVERY_STREAMS !== 0) return;
  const unsupported = renewStreamTable(session);
  if (unsupported === undefined) {
    renewals++;
    return;
  }
  // Not the layout this was written for: leave Node alone from now on.
  active = false;
  onUnsupported?.(unsupported);
}

/** Replaces `session`'s table of open streams by a copy; returns why it cannot, if it cannot. */
export function renewStreamTable(session: object): string | undefined {
  // Looked up each time (once per RENEW_EVERY_STREAMS streams): cheap, and a session of another kind cannot mislead later ones.
  const stateKey = Object.getOwnPropertySymbols(session).find((key) => key.description === "state");
  const state = stateKey === undefined ? undefined : (session as unknown as Record<symbol, SessionState | undefined>)[stateKey];
  const streams = state?.streams;
  // Node's SafeMap: a Map, though not `instanceof Map` (its prototype chain is cut).
  if (!types.isMap(streams)) return stateKey === undefined ? "an HTTP/2 session has no state symbol" : "an HTTP/2 session's state has no streams Map";
  // Same class (Node's SafeMap, immune to changes of Map.prototype), same entries in the same order.
  state!.streams = new ((streams as object).constructor as MapConstructor)(streams as Map<unknown, unknown>);
  return undefined;
}

/**
 * Starts renewing (once per process; later calls only report).
 * `options.onUnsupported` hears, once, that this Node's sessions do not look
 * as expected and renewing stopped.
 */
export function renewHttp2StreamTables(options: { onUnsupported?: (reason: string) => void } = {}): StreamTableRenewal {
  if (!installed) {
    installed = true;
    onUnsupported = options.onUnsupported;
    subscribe(CHANNEL, onStreamCreated);
  }
  return http2StreamTableRenewal();
}

export function http2StreamTableRenewal(): StreamTableRenewal {
  return { active: installed && active, renewals };
}
