/** Median and maximum of a list of durations, as the results report them. */
export interface Summary {
  readonly n: number;
  readonly p50: number | null;
  readonly max: number | null;
}

export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) return { n: 0, p50: null, max: null };
  const sorted = [...values].sort((a, b) => a - b);
  return { n: sorted.length, p50: Math.round(sorted[Math.floor((sorted.length - 1) / 2)]!), max: Math.round(sorted[sorted.length - 1]!) };
}

export function countBy(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}
