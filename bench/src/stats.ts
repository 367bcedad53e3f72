/** Median, extremes and count of one figure over the measured rounds. */
export interface Summary {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly n: number;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN, n: 0 };
  return { median: median(values), min: Math.min(...values), max: Math.max(...values), n: values.length };
}

/** Ratio of medians; NaN when either side is missing or the denominator is zero. */
export function ratioOfMedians(ours: readonly number[], peer: readonly number[]): number {
  const denominator = median(peer);
  if (!Number.isFinite(denominator) || denominator === 0) return Number.NaN;
  return median(ours) / denominator;
}
