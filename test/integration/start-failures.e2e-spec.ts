import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import pg from 'pg';
import { createApp } from '../../src/bootstrap/create-app.js';
import { databaseRefusal, listenRefusal, systemRefusal } from '../../src/bootstrap/start-failures.js';
import { loadConfig } from '../../src/config/load-config.js';
import { StartupRefusedError } from '../../src/infrastructure/lifecycle/startup-refused.error.js';
import { DATABASE_FAILURE } from '../../src/infrastructure/database/database.module.js';
import { databaseUrl } from '../support/test-database.js';

/** What a call throws (it must throw). */
async function thrown(run: () => Promise<unknown>): Promise<unknown> {
  try {
    await run();
  } catch (error) {
    return error;
  }
  throw new Error('expected it to throw');
}

/** What connecting to `url` throws, marked as the database module marks what connecting threw. */
async function connectError(url: string): Promise<unknown> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  client.on('error', () => undefined);
  return Object.assign((await thrown(() => client.connect())) as object, { [DATABASE_FAILURE]: true });
}

describe('a start that fails for a reason the operator fixes: the setting and what to do, no stack trace', () => {
  it('a port already in use names PORT', async () => {
    const taken = Fastify();
    await taken.listen({ port: 0, host: '127.0.0.1' });
    const port = (taken.server.address() as { port: number }).port;
    const second = Fastify();
    try {
      const error = await thrown(() => second.listen({ port, host: '127.0.0.1' }));
      const refusal = listenRefusal(error, port, '127.0.0.1');
      expect(refusal).toBeInstanceOf(StartupRefusedError);
      expect(refusal?.message).toBe(
        `PORT ${port} is already in use on 127.0.0.1: stop what listens there (calsync already running?) or set PORT to a free port`,
      );
    } finally {
      await second.close();
      await taken.close();
    }
  });

  it('a HOST that is not an address of this machine names HOST', async () => {
    const server = Fastify();
    try {
      const error = await thrown(() => server.listen({ port: 0, host: '203.0.113.7' }));
      expect(listenRefusal(error, 3000, '203.0.113.7')?.message).toMatch(
        /^HOST 203\.0\.113\.7 is not an address of this machine \(EADDRNOTAVAIL\): set HOST/,
      );
    } finally {
      await server.close();
    }
  });

  it('a database that does not exist, or nothing listening there, names DATABASE_URL without its password', async () => {
    const missing = new URL(databaseUrl('calsync_test_no_such_database'));
    missing.password = 'hunter2-secret';
    const noDatabase = databaseRefusal(await connectError(missing.toString()), missing.toString());
    expect(noDatabase?.message).toMatch(
      /^cannot use the database at DATABASE_URL \(postgres:\/\/\*\*\*@[^)]+\/calsync_test_no_such_database\): that database does not exist/,
    );
    expect(noDatabase?.message).not.toContain('hunter2');

    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const free = (probe.address() as { port: number }).port;
        probe.close(() => resolve(free));
      });
    });
    const closed = `postgres://postgres@127.0.0.1:${port}/calsync`;
    expect(databaseRefusal(await connectError(closed), closed)?.message).toMatch(
      /^cannot use the database at DATABASE_URL \(postgres:\/\/\*\*\*@127\.0\.0\.1:\d+\/calsync\): nothing accepts connections there/,
    );
    // Anything else is not the database's, an ECONNREFUSED of another connection included.
    expect(databaseRefusal(new Error('boom'), closed)).toBeNull();
    expect(databaseRefusal(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), closed)).toBeNull();
    // Without DATABASE_URL, the embedded PostgreSQL is named instead.
    expect(databaseRefusal(await connectError(closed), closed, true)?.message).toMatch(/^cannot use the embedded PostgreSQL \(/);
  });

  it('a file where DATA_DIR needs a directory: the system error’s own message, which names the path', async () => {
    const base = mkdtempSync(join(tmpdir(), 'calsync-start-failures-'));
    try {
      writeFileSync(join(base, 'file'), 'x');
      const error = await thrown(async () => mkdirSync(join(base, 'file', 'postgres'), { recursive: true }));
      expect(systemRefusal(error)?.message).toMatch(/^(EEXIST|ENOTDIR): .*file/);
      expect(systemRefusal(new Error('a bug'))).toBeNull();
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });

  it('a database that does not exist stops the start at once (no retries for 30 s)', async () => {
    const url = databaseUrl('calsync_test_no_such_database');
    const config = loadConfig(
      {
        NODE_ENV: 'test',
        DATABASE_URL: url,
        API_KEY: 'test-api-key-0123456789',
        ADMIN_API_KEY: 'test-admin-key-0123456789',
        ENCRYPTION_KEY: randomBytes(32).toString('hex'),
        SCHEDULER_ENABLED: 'false',
        LOG_LEVEL: 'error',
      },
      { persistGeneratedSecrets: false },
    );
    const began = Date.now();
    const error = await thrown(() => createApp(config, url));
    expect(Date.now() - began).toBeLessThan(2500);
    expect(databaseRefusal(error, url)?.message).toContain('that database does not exist');
  });
});
