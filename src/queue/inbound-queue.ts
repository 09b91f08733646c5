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
 * - At most `maxWaitingPolls` polls wait at once (all lanes together); a poll
 *   beyond that answers at once with what it can take without waiting
 *   (nothing, when others wait on its lane) and is counted. Waiting polls sit
 *   in insertion-ordered sets, so arrival, hand-out and departure are O(1).
 * - Entries handed out are watched until their task is claimed (an instance
 *   registered: {@link InboundQueue.claim}); one still unclaimed after
 *   `reofferUnclaimedAfterMs` is queued again if its task can still take an
 *   instance (the protocol has no owner for a poll: see unclaimed-entries.ts).
 */
import { EntryDeque } from "./entry-deque.ts";
import { laneOfKey, LANES, type Lane, type QueueEntry, type QueueSubject } from "./queue-subject.ts";
import { UnclaimedEntries } from "./unclaimed-entries.ts";
import { RenewingSet } from "../core/renewing-map.ts";

export interface InboundQueueOptions {
  /** How long a poll that has entries in hand waits for more before returning. Default 2 ms. */
  readonly lingerMs?: number;
  /** Largest `maxItems` honoured; larger requests are clamped. Default 10 000. */
  readonly maxItemsCap?: number;
  /** Longest `waitMs` honoured; longer requests are clamped. Default 60 000. */
  readonly waitMsCap?: number;
  /** Called when a poll's `maxItems` or `waitMs` was clamped (for a metric). */
  readonly onClamp?: (lane: Lane, field: "maxItems" | "waitMs", requested: number | bigint, cap: number) => void;
  /** Clock for enqueue ages and re-offers, in milliseconds. Default `performance.now`. */
  readonly now?: () => number;
  /** Most polls waiting at once, all lanes together. Default {@link DEFAULT_MAX_WAITING_POLLS}. */
  readonly maxWaitingPolls?: number;
  /** Called when a poll could not wait because `maxWaitingPolls` were waiting (for a metric). */
  readonly onWaitRefused?: (lane: Lane) => void;
  /** Handed-out entries unclaimed this long are offered again; 0: never. Default {@link DEFAULT_REOFFER_UNCLAIMED_AFTER_MS}. */
  readonly reofferUnclaimedAfterMs?: number;
  /** Called for each task queued again because its handed-out entry went unclaimed (metrics, logs). */
  readonly onReoffered?: (subject: QueueSubject, key: number) => void;
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
  /** Entries handed out whose task has not been claimed yet. */
  readonly unclaimed: number;
  /** Polls answered without waiting because `maxWaitingPolls` were waiting (since start). */
  readonly waitRefusedPolls: number;
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
  /** Pollers holding nothing yet, in arrival order: woken first come, first served. */
  readonly waiting: RenewingSet<Poller>;
  /** Pollers gathering a batch (they hold entries and have room), in the order they began. */
  readonly lingering: RenewingSet<Poller>;
  dispatchScheduled: boolean;
  waitRefused: number;
}

function pollerCount(lane: LaneState): number {
  return lane.waiting.size + lane.lingering.size;
}

function first(pollers: RenewingSet<Poller>): Poller | undefined {
  return pollers.values().next().value;
}

export const DEFAULT_LINGER_MS = 2;
export const DEFAULT_MAX_ITEMS_CAP = 10_000;
export const DEFAULT_WAIT_MS_CAP = 60_000;
/** Each waiting poll holds an HTTP/2 stream and a timer; Spider runs a handful of schedulers. */
export const DEFAULT_MAX_WAITING_POLLS = 1_024;
/**
 * 30 s: far above the milliseconds a scheduler takes to pass a task to an
 * execution manager, so a live scheduler's work is almost never offered twice
 * (and a second offer is harmless: max_num_instances refuses the extra
 * registration), yet short against the hours a task would otherwise wait for
 * a restart.
 */
export const DEFAULT_REOFFER_UNCLAIMED_AFTER_MS = 30_000;

export class InboundQueue {
  private readonly lanes: Record<Lane, LaneState>;
  private readonly lingerMs: number;
  private readonly maxItemsCap: number;
  private readonly waitMsCap: number;
  private readonly onClamp: InboundQueueOptions["onClamp"];
  private readonly now: () => number;
  private readonly maxWaitingPolls: number;
  private readonly onWaitRefused: InboundQueueOptions["onWaitRefused"];
  private readonly reofferAfterMs: number;
  private readonly onReoffered: InboundQueueOptions["onReoffered"];
  private readonly unclaimed = new UnclaimedEntries();
  private reofferTimer: NodeJS.Timeout | undefined;
  private waitingPolls = 0;
  private closed = false;

  constructor(options: InboundQueueOptions = {}) {
    this.lingerMs = options.lingerMs ?? DEFAULT_LINGER_MS;
    this.maxItemsCap = options.maxItemsCap ?? DEFAULT_MAX_ITEMS_CAP;
    this.waitMsCap = options.waitMsCap ?? DEFAULT_WAIT_MS_CAP;
    this.onClamp = options.onClamp;
    this.now = options.now ?? (() => performance.now());
    this.maxWaitingPolls = options.maxWaitingPolls ?? DEFAULT_MAX_WAITING_POLLS;
    this.onWaitRefused = options.onWaitRefused;
    this.reofferAfterMs = options.reofferUnclaimedAfterMs ?? DEFAULT_REOFFER_UNCLAIMED_AFTER_MS;
    this.onReoffered = options.onReoffered;
    const lane = (): LaneState => ({
      entries: new EntryDeque<QueueSubject>(),
      waiting: new RenewingSet(),
      lingering: new RenewingSet(),
      dispatchScheduled: false,
      waitRefused: 0,
    });
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
    if (pollerCount(lane) > 0) this.scheduleDispatch(laneOfKey(key));
    return true;
  }

  /** Puts handed-out entries back at the front of their lanes, in their original order. */
  putBack(entries: readonly QueueEntry[]): void {
    const now = this.now();
    const touched = new Set<Lane>();
    for (let i = entries.length - 1; i >= 0; i--) {
      const entry = entries[i]!;
      this.unclaimed.forget(entry.subject, entry.key);
      if (entry.subject.isQueued(entry.key)) continue; // re-enqueued meanwhile: one entry is enough
      entry.subject.setQueued(entry.key, true);
      const lane = laneOfKey(entry.key);
      this.lanes[lane].entries.unshift(entry.subject, entry.key, now);
      touched.add(lane);
    }
    for (const lane of touched) if (pollerCount(this.lanes[lane]) > 0) this.scheduleDispatch(lane);
  }

  /** The task got an instance: its handed-out entry is no longer watched for a re-offer. */
  claim(subject: QueueSubject, key: number): void {
    this.unclaimed.forget(subject, key);
  }

  /**
   * Queues again every task whose entry was handed out at least
   * `reofferUnclaimedAfterMs` ago and never claimed, if it can still take an
   * instance and has no entry. Returns how many. Runs on a timer once
   * {@link start}ed; tests call it with their own clock.
   */
  reofferUnclaimed(): number {
    if (this.reofferAfterMs <= 0) return 0;
    let reoffered = 0;
    for (const { subject, key } of this.unclaimed.takeHandedOutBy(this.now() - this.reofferAfterMs)) {
      if (!subject.canAcceptInstance(key) || !this.enqueue(subject, key)) continue;
      reoffered++;
      this.onReoffered?.(subject, key);
    }
    return reoffered;
  }

  /** Starts the re-offer timer (a no-op when re-offers are off). */
  start(): void {
    if (this.reofferAfterMs <= 0 || this.reofferTimer !== undefined || this.closed) return;
    const period = Math.max(10, Math.min(1_000, this.reofferAfterMs / 4));
    this.reofferTimer = setInterval(() => this.reofferUnclaimed(), period);
    this.reofferTimer.unref();
  }

  /** Long-polls one lane; see the module comment for the exact semantics. */
  poll(laneName: Lane, options: PollOptions): Promise<QueueEntry[]> {
    const maxItems = this.clamp(laneName, "maxItems", options.maxItems, this.maxItemsCap);
    const waitMs = this.clamp(laneName, "waitMs", options.waitMs, this.waitMsCap);
    if (maxItems === 0 || this.closed || options.signal?.aborted) return Promise.resolve([]);
    const lane = this.lanes[laneName];
    const taken: QueueEntry[] = [];
    // Pollers already waiting were here first: take directly only when none is (or when not waiting at all).
    if (pollerCount(lane) === 0 || waitMs === 0) this.take(lane, taken, maxItems);
    if (taken.length === maxItems || waitMs === 0) return Promise.resolve(this.handOut(taken));
    if (this.waitingPolls >= this.maxWaitingPolls) {
      lane.waitRefused++;
      this.onWaitRefused?.(laneName);
      return Promise.resolve(this.handOut(taken));
    }
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
      lane.waiting.add(poller);
      this.waitingPolls++;
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
    const one = (name: Lane): LaneStats => {
      const lane = this.lanes[name];
      const oldest = lane.entries.peekTime();
      return {
        depth: lane.entries.length,
        oldestAgeMs: oldest === undefined ? 0 : Math.max(0, now - oldest),
        waitingPollers: pollerCount(lane),
        unclaimed: this.unclaimed.count(name),
        waitRefusedPolls: lane.waitRefused,
      };
    };
    return { task: one("task"), commit: one("commit"), cleanup: one("cleanup") };
  }

  /** Ends every pending poll with what it holds; later polls answer empty at once. */
  close(): void {
    this.closed = true;
    if (this.reofferTimer !== undefined) clearInterval(this.reofferTimer);
    this.reofferTimer = undefined;
    for (const name of LANES) {
      const lane = this.lanes[name];
      for (const poller of [...lane.lingering, ...lane.waiting]) this.finish(poller);
    }
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
      // A lingering poller always has room: one that fills up finishes at once.
      const poller = first(lane.lingering) ?? first(lane.waiting);
      if (poller === undefined) return;
      this.take(lane, poller.taken, poller.maxItems);
      if (poller.taken.length >= poller.maxItems) this.finish(poller);
      else if (poller.taken.length > 0 && !poller.lingering) this.startLinger(poller);
    }
  }

  private startLinger(poller: Poller): void {
    poller.lingering = true;
    const lane = this.lanes[poller.lane];
    lane.waiting.delete(poller);
    lane.lingering.add(poller);
    const remaining = Math.max(0, poller.deadline - this.now());
    poller.lingerTimer = setTimeout(() => this.finish(poller), Math.min(this.lingerMs, remaining));
  }

  private detach(poller: Poller): void {
    poller.done = true;
    if (poller.waitTimer) clearTimeout(poller.waitTimer);
    if (poller.lingerTimer) clearTimeout(poller.lingerTimer);
    if (poller.onAbort) poller.signal?.removeEventListener("abort", poller.onAbort);
    const lane = this.lanes[poller.lane];
    if (lane.waiting.delete(poller) || lane.lingering.delete(poller)) this.waitingPolls--;
  }

  private finish(poller: Poller): void {
    if (poller.done) return;
    this.detach(poller);
    // An entry taken during the linger may have gone stale since (its job was cancelled, say).
    const fresh = poller.taken.filter((entry) => entry.subject.canAcceptInstance(entry.key));
    poller.resolve(this.handOut(fresh));
    const lane = this.lanes[poller.lane];
    if (lane.entries.length > 0 && pollerCount(lane) > 0) this.scheduleDispatch(poller.lane);
  }

  /** Entries leaving in a poll's answer: watched until claimed (see {@link reofferUnclaimed}). */
  private handOut(entries: QueueEntry[]): QueueEntry[] {
    if (this.reofferAfterMs > 0 && entries.length > 0) this.unclaimed.handedOut(entries, this.now());
    return entries;
  }

  private abort(poller: Poller): void {
    if (poller.done) return;
    this.detach(poller);
    this.putBack(poller.taken);
    poller.resolve([]);
  }
}
