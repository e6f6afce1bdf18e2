import { setFlagsFromString } from 'node:v8';

const FLAG = '--heap-growing-percent';

/**
 * How far V8 lets the heap grow past what the last full collection found live
 * (`HEAP_GROWING_PERCENT`). V8's own factor goes up to 4× when the process allocates quickly: with
 * the service's ~55 MB of live objects, a sweep over 6,000 calendars left 250 MB of heap, most of
 * it garbage not yet collected, and the process above 320 MB of RSS. At 50 % the peak stayed near
 * 220 MB in the same `scale` bench, at the same speed there; an Outlook first full sync (Graph's
 * 1.6 MB pages) lost about a fifth of its speed (bench/README.md, "V8's heap growth"). A flag V8
 * reads at every full collection, so setting it at start takes effect; one given on the command
 * line wins.
 *
 * @returns whether the flag was set
 */
export function applyHeapGrowth(
  percent: number,
  execArgv: readonly string[] = process.execArgv,
  setFlags: (flags: string) => void = setFlagsFromString,
): boolean {
  if (percent <= 0) return false;
  if (execArgv.some((arg) => arg === FLAG || arg.startsWith(`${FLAG}=`) || arg.startsWith('--heap_growing_percent'))) {
    return false;
  }
  setFlags(`${FLAG}=${percent}`);
  return true;
}
