/**
 * A binary min-heap of instance records ordered by soft deadline, so the
 * soft-timeout check costs O(expired · log n) per tick instead of a scan of
 * every live instance. Removed instances are skipped lazily when they surface.
 */
import type { InstanceRecord } from "./instance-record.ts";

export class DeadlineHeap {
  private readonly items: InstanceRecord[] = [];

  get size(): number {
    return this.items.length;
  }

  push(record: InstanceRecord): void {
    const items = this.items;
    items.push(record);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (items[parent]!.softDeadline <= record.softDeadline) break;
      items[i] = items[parent]!;
      i = parent;
    }
    items[i] = record;
  }

  peek(): InstanceRecord | undefined {
    return this.items[0];
  }

  pop(): InstanceRecord | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || last === undefined || items.length === 0) return top;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= items.length) break;
      const right = left + 1;
      const child = right < items.length && items[right]!.softDeadline < items[left]!.softDeadline ? right : left;
      if (items[child]!.softDeadline >= last.softDeadline) break;
      items[i] = items[child]!;
      i = child;
    }
    items[i] = last;
    return top;
  }

  /** Drops records that are no longer live, when they make up most of the heap. */
  compact(): void {
    const live = this.items.filter((r) => r.live);
    if (live.length * 2 > this.items.length) return;
    this.items.length = 0;
    for (const record of live) this.push(record);
  }
}
