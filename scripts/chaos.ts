/**
 * `npm run chaos`: two calsync processes on one PostgreSQL, the Google Calendar and Microsoft Graph
 * emulators, and a seeded random schedule of everything that goes wrong in production at once:
 *
 * - host edits in the calendars (move, rename, guests, delete, make recurring), some in quick pairs;
 * - API reschedules, cancels and creates, a third of them racing a host edit of the same booking;
 * - pushes dropped, duplicated, held and released in reverse, delayed; Graph delta pages shuffled;
 * - 429/500/503 bursts and hung responses (longer than the instances' provider timeout);
 * - kill -9 of a random instance (sometimes both) at random moments, restarted with the same env.
 *
 * Pushes reach the instances through a loopback load balancer (whichever instance is up). After the
 * schedule: quiescence (faults off, held pushes sent, both instances up, `resync-calendars` until two
 * rounds change nothing; retry backoffs are cut short), then the checks, then the measurements, then a
 * table. Exit code 0 when no booking mismatches, 1 otherwise.
 *
 * Rules checked for every booking (scripts/chaos/checks.ts has them in full):
 * 1. booking = event: an accepted booking has exactly one live event in its host's calendar, its
 *    reference points at it, with the booking's start, end, title and guests; a cancelled one has none;
 * 2. last writer wins per field group (times, title, guests): a host edit happens when the emulator
 *    applied it, an API change between its request and its answer (unanswered or 5xx: maybe, any time
 *    after the request); the booking ends with the value of a write that no definite write followed;
 *    making the event recurring keeps the booking's times;
 * 3. cancellation (API cancel or the host deleting the event) is final, and nothing else cancels;
 * 4. the history has each change exactly once (one `created`; at most one `cancelled`, last; each change
 *    goes from the previous value; no entry repeated; every acknowledged API change once; no more
 *    calendar-sourced entries of a kind than host edits of that kind);
 * 5. nothing lost or left over: every outbox row applied, no duplicate events, no event without a booking;
 * 6. the host is told each change once, in order: a webhook receiver (answering 500/503, hanging, answering
 *    after the sender's limit) and a change-feed reader run beside everything else (scripts/chaos/host-side.ts).
 *
 * Measured and printed: restarted instance healthy → pending change landed (target < 5 s), the scheduled tasks' runs per
 * tick with two instances (target 1), live channels per calendar (target exactly 1).
 *
 * Usage: npm run chaos -- [--seed N] [--duration S] [--kills K] [--short] [--keep] [--verbose]
 *   --seed N      the schedule's seed (default: random, printed first; replay a failure with it)
 *   --duration S  seconds of chaos (default 300)
 *   --kills K     kill -9s over the run (default 24)
 *   --short       a short run (40 s, 4 kills, fewer hosts): the size a CI run would use once it finds no mismatches
 *   --keep        keep the work directory (instance logs) and the database
 *   --verbose     print every op as it happens
 * Uses DATABASE_URL's server when set (a fresh database, dropped at the end), else an embedded PostgreSQL.
 */
import { LONG_DEFAULTS, SHORT_DEFAULTS, type ChaosOptions, runChaos } from './chaos/harness.js';

function parseArgs(argv: string[]): ChaosOptions {
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new Error(`unexpected argument "${arg}"`);
    const [name, inline] = arg.slice(2).split('=', 2);
    if (inline !== undefined) flags.set(name, inline);
    else if (argv[i + 1] !== undefined && !argv[i + 1].startsWith('--')) flags.set(name, argv[++i]);
    else flags.set(name, true);
  }
  const known = new Set(['seed', 'duration', 'kills', 'short', 'keep', 'verbose']);
  for (const name of flags.keys()) if (!known.has(name)) throw new Error(`unknown option --${name}`);
  const number = (name: string): number | undefined => {
    const raw = flags.get(name);
    if (raw === undefined) return undefined;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 0) throw new Error(`--${name} needs a whole number (got ${String(raw)})`);
    return value;
  };
  const base = flags.has('short') ? SHORT_DEFAULTS : LONG_DEFAULTS;
  return {
    ...base,
    seed: number('seed') ?? Math.floor(Math.random() * 2 ** 31),
    durationSec: number('duration') ?? base.durationSec,
    kills: number('kills') ?? base.kills,
    keep: flags.has('keep'),
    verbose: flags.has('verbose'),
  };
}

async function main(): Promise<void> {
  let options: ChaosOptions;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(2);
  }
  process.stdout.write(`seed ${options.seed}\n`);
  const report = await runChaos(options);
  process.stdout.write(`\n${report.table}\n`);
  if (report.details) process.stdout.write(`${report.details}\n`);
  if (report.error) process.stdout.write(`\nthe run failed: ${report.error}\n`);
  process.stdout.write(`\n${report.ok ? 'PASS' : 'FAIL'}: ${report.mismatches.length} mismatch(es). Replay: ${report.replay}\n`);
  process.exit(report.mismatches.length === 0 && !report.error ? 0 : 1);
}

void main();
