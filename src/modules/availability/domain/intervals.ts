export interface Interval {
  start: number;
  end: number;
}

/** Sorts, clips to [from, to) and merges overlapping or touching intervals. */
export function mergeIntervals(intervals: Interval[], from: number, to: number): Interval[] {
  const clipped: Interval[] = [];
  for (const i of intervals) {
    const start = Math.max(i.start, from);
    const end = Math.min(i.end, to);
    if (end > start) clipped.push({ start, end });
  }
  clipped.sort((a, b) => a.start - b.start || a.end - b.end);
  const merged: Interval[] = [];
  for (const i of clipped) {
    const last = merged[merged.length - 1];
    if (last && i.start <= last.end) last.end = Math.max(last.end, i.end);
    else merged.push({ ...i });
  }
  return merged;
}

/** The parts of [from, to) not covered by [coverFrom, coverTo). */
export function outside(from: number, to: number, coverFrom: number, coverTo: number): Interval[] {
  const parts: Interval[] = [];
  if (from < Math.min(to, coverFrom)) parts.push({ start: from, end: Math.min(to, coverFrom) });
  if (Math.max(from, coverTo) < to) parts.push({ start: Math.max(from, coverTo), end: to });
  return parts;
}
