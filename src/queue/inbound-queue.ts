/**
 * The inbound queue (DECISIONS D7): an index of ready work in three lanes
 * (regular tasks, commit tasks, cleanup tasks), FIFO per lane.
 *
 * - Enqueue never waits and never duplicates: each task has at most one entry,
 *   tracked by a flag on its control block that is cleared when the entry is
 *   handed out (or skipped).
 * - A poll hands out an entry only if its task can accept an instance right
 *   now; stale entries are dropped at poll time.
 * - Long-poll: a poll returns at `maxItems`, or once at least one entry is in
 *   hand and a short linger has passed, or empty at `waitMs`. `maxItems` and
 *   `waitMs` above their caps are clamped silently (reported to `onClamp`).
 * - One arrival wakes one waiting poller, never all of them.
 * - Entries taken by a poll whose caller went away are put back at the front.
 */
import { EntryDeque } from "./entry-deque.ts";
import { laneOfKey, LANES, type Lane, type QueueEntry, type QueueSubject } from "./queue-subject.ts";

export interface InboundQueueOptions {
  /** How long a poll that has entries in hand waits for more before returning. Default 2 ms. */
  readonly lingerMs?: number;
  /** Largest `maxItems` honoured; larger requests are clamped. Default 10 000. */
  readonly maxItemsCap?: number;
  /** Longest `waitMs` honoured; longer requests are clamped. Default 60 000. */
  readonly waitMsCap?: number;
  /** Called when a poll's `maxItems` or `waitMs` was clamped (for a metric). */
  readonly onClamp?: (lane: Lane, field: "maxItems" | "waitMs", requested: number | bigint, cap: number) => void;
  /** Clock for enqueue ages, in milliseconds. Default `performance.now`. */
  readonly now?: () => number;
}

export interface PollOptions {
  readonly maxItems: number | bigint;
  readonly waitMs: number | bigint;
  /** Aborted when the caller went away: the poll ends and its entries go back to the front. */
  readonly signal?: AbortSignal;
}

export interface LaneStats {
  readonly depth: number;
  /** Age of the oldest entry in milliseconds (0 when empty). */
  readonly oldestAgeMs: number;
  readonly waitingPollers: number;
}

interface Poller {
  readonly lane: Lane;
  readonly maxItems: number;
  readonly taken: QueueEntry[];
  lingering: boolean;
  done: boolean;
  waitTimer: NodeJS.Timeout | undefined;
  lingerTimer: NodeJS.Timeout | undefined;
  readonly deadline: number;
  readonly signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  resolve: (entries: QueueEntry[]) => void;
}

interface LaneState {
  readonly entries: EntryDeque<QueueSubject>;
  /** Pollers in arrival order; waiting ones get woken first come, first served. */
  readonly pollers: Poller[];
  dispatchScheduled: boolean;
}

export const DEFAULT_LINGER_MS = 2;
export const DEFAULT_MAX_ITEMS_CAP = 10_000;
export const DEFAULT_WAIT_MS_CAP = 60_000;

export class InboundQueue {
  private readonly lanes: Record<Lane, LaneState>;
  private readonly lingerMs: number;
  private readonly maxItemsCap: number;
  private readonly waitMsCap: number;
  private readonly onClamp: InboundQueueOptions["onClamp"];
  private readonly now: () => number;
  private closed = false;

  constructor(options: InboundQueueOptions = {}) {
    this.lingerMs = options.lingerMs ?? DEFAULT_LINGER_MS;
    this.maxItemsCap = options.maxItemsCap ?? DEFAULT_MAX_ITEMS_CAP;
    this.waitMsCap = options.waitMsCap ?? DEFAULT_WAIT_MS_CAP;
    this.onClamp = options.onClamp;
    this.now = options.now ?? (() => performance.now());
    const lane = (): LaneState => ({ entries: new EntryDeque<QueueSubject>(), pollers: [], dispatchScheduled: false });
    this.lanes = { task: lane(), commit: lane(), cleanup: lane() };
  }

  /**
   * Adds the task to the back of its lane unless it already has an entry.
   * Returns whether an entry was added. Never waits.
   */
  enqueue(subject: QueueSubject, key: number): boolean {
    if (subject.isQueued(key)) return false;
    subject.setQueued(key, true);
    const lane = this.lanes[laneOfKey(key)];
    lane.entries.push(subject, key, this.now());
    if (lane.pollers.length > 0) this.scheduleDispatch(laneOfKey(key));
    return true;
  }

  /** Puts handed-out entries back at the front of their lanes, in their original order. */
  putBack(entries: readonly QueueEntry[]): void {
    const now = this.now();
    const touched = new Set<Lane>();
    for (let i = entries.length - 1; i >= 0; i--) {
      const entry = entries[i]!;
      if (entry.subject.isQueued(entry.key)) continue; // re-enqueued meanwhile: one entry is enough
      entry.subject.setQueued(entry.key, true);
      const lane = laneOfKey(entry.key);
      this.lanes[lane].entries.unshift(entry.subject, entry.key, now);
      touched.add(lane);
    }
    for (const lane of touched) if (this.lanes[lane].pollers.length > 0) this.scheduleDispatch(lane);
  }

  /** Long-polls one lane; see the module comment for the exact semantics. */
  poll(laneName: Lane, options: PollOptions): Promise<QueueEntry[]> {
    const maxItems = this.clamp(laneName, "maxItems", options.maxItems, this.maxItemsCap);
    const waitMs = this.clamp(laneName, "waitMs", options.waitMs, this.waitMsCap);
    if (maxItems === 0 || this.closed || options.signal?.aborted) return Promise.resolve([]);
    const lane = this.lanes[laneName];
    const taken: QueueEntry[] = [];
    // Pollers already waiting were here first: take directly only when none is (or when not waiting at all).
    if (lane.pollers.length === 0 || waitMs === 0) this.take(lane, taken, maxItems);
    if (taken.length === maxItems || waitMs === 0) return Promise.resolve(taken);
    return new Promise<QueueEntry[]>((resolve) => {
      const poller: Poller = {
        lane: laneName,
        maxItems,
        taken,
        lingering: false,
        done: false,
        waitTimer: undefined,
        lingerTimer: undefined,
        deadline: this.now() + waitMs,
        signal: options.signal,
        onAbort: undefined,
        resolve,
      };
      lane.pollers.push(poller);
      poller.waitTimer = setTimeout(() => this.finish(poller), waitMs);
      if (taken.length > 0) this.startLinger(poller);
      if (options.signal) {
        poller.onAbort = () => this.abort(poller);
        options.signal.addEventListener("abort", poller.onAbort, { once: true });
      }
      if (lane.entries.length > 0) this.scheduleDispatch(laneName);
    });
  }

  /** Entries currently in a lane (stale ones included until a poll skips them). */
  depth(lane: Lane): number {
    return this.lanes[lane].entries.length;
  }

  stats(): Record<Lane, LaneStats> {
    const now = this.now();
    const one = (lane: LaneState): LaneStats => {
      const oldest = lane.entries.peekTime();
      return {
        depth: lane.entries.length,
        oldestAgeMs: oldest === undefined ? 0 : Math.max(0, now - oldest),
        waitingPollers: lane.pollers.length,
      };
    };
    return { task: one(this.lanes.task), commit: one(this.lanes.commit), cleanup: one(this.lanes.cleanup) };
  }

  /** Ends every pending poll with what it holds; later polls answer empty at once. */
  close(): void {
    this.closed = true;
    for (const name of LANES) for (const poller of [...this.lanes[name].pollers]) this.finish(poller);
  }

  private clamp(lane: Lane, field: "maxItems" | "waitMs", requested: number | bigint, cap: number): number {
    const value = typeof requested === "bigint" ? requested : BigInt(Math.max(0, Math.floor(requested)));
    if (value > BigInt(cap)) {
      this.onClamp?.(lane, field, requested, cap);
      return cap;
    }
    return value < 0n ? 0 : Number(value);
  }

  /** Moves up to `max - taken.length` acceptable entries from the front of the lane into `taken`. */
  private take(lane: LaneState, taken: QueueEntry[], max: number): void {
    const entries = lane.entries;
    while (taken.length < max && entries.length > 0) {
      const subject = entries.peekOwner()!;
      const key = entries.peekKey();
      entries.shift();
      subject.setQueued(key, false);
      if (subject.canAcceptInstance(key)) taken.push({ subject, key });
    }
  }

  private scheduleDispatch(laneName: Lane): void {
    const lane = this.lanes[laneName];
    if (lane.dispatchScheduled) return;
    lane.dispatchScheduled = true;
    // A microtask: a burst of enqueues (StartJob, a parent releasing children) is handed out in one pass.
    queueMicrotask(() => {
      lane.dispatchScheduled = false;
      this.dispatch(laneName);
    });
  }

  /**
   * Hands queued entries to pollers: first to lingering pollers with room
   * (they are collecting a batch), then to the longest-waiting poller, one
   * poller at a time — so one arrival wakes exactly one poller.
   */
  private dispatch(laneName: Lane): void {
    const lane = this.lanes[laneName];
    while (lane.entries.length > 0) {
      const poller = lane.pollers.find((p) => p.lingering && p.taken.length < p.maxItems) ?? lane.pollers.find((p) => !p.lingering);
      if (poller === undefined) return;
      this.take(lane, poller.taken, poller.maxItems);
      if (poller.taken.length >= poller.maxItems) this.finish(poller);
      else if (poller.taken.length > 0 && !poller.lingering) this.startLinger(poller);
    }
  }

  private startLinger(poller: Poller): void {
    poller.lingering = true;
    const remaining = Math.max(0, poller.deadline - this.now());
    poller.lingerTimer = setTimeout(() => this.finish(poller), Math.min(this.lingerMs, remaining));
  }

  private detach(poller: Poller): void {
    poller.done = true;
    if (poller.waitTimer) clearTimeout(poller.waitTimer);
    if (poller.lingerTimer) clearTimeout(poller.lingerTimer);
    if (poller.onAbort) poller.signal?.removeEventListener("abort", poller.onAbort);
    const pollers = this.lanes[poller.lane].pollers;
    const at = pollers.indexOf(poller);
    if (at >= 0) pollers.splice(at, 1);
  }

  private finish(poller: Poller): void {
    if (poller.done) return;
    this.detach(poller);
    // An entry taken during the linger may have gone stale since (its job was cancelled, say).
    const fresh = poller.taken.filter((entry) => entry.subject.canAcceptInstance(entry.key));
    poller.resolve(fresh);
    const lane = this.lanes[poller.lane];
    if (lane.entries.length > 0 && lane.pollers.length > 0) this.scheduleDispatch(poller.lane);
  }

  private abort(poller: Poller): void {
    if (poller.done) return;
    this.detach(poller);
    this.putBack(poller.taken);
    poller.resolve([]);
  }
}
