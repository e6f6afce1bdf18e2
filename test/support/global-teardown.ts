import { rmSync } from 'node:fs';
import pg from 'pg';

// Jest loads this file outside the test runtime, so it imports no project files.
export default async function globalTeardown(): Promise<void> {
  const state = globalThis as Record<string, unknown>;
  // This run's template (see global-setup), on a server that outlives the run.
  const template = process.env.CALSYNC_TEST_TEMPLATE;
  if (template && process.env.TEST_DATABASE_SERVER_URL && !state.__calsyncTestPg) {
    const admin = new URL(process.env.TEST_DATABASE_SERVER_URL);
    admin.pathname = '/postgres';
    const client = new pg.Client({ connectionString: admin.toString() });
    await client.connect();
    try {
      await client.query(`DROP DATABASE IF EXISTS ${template} WITH (FORCE)`);
      await client.query(`DROP DATABASE IF EXISTS ${template}_building WITH (FORCE)`);
    } finally {
      await client.end();
    }
  }
  const running = state.__calsyncTestPg as { server: { stop(): Promise<void> }; dir: string } | undefined;
  if (!running) return;
  await running.server.stop();
  rmSync(running.dir, { recursive: true, force: true });
  state.__calsyncTestPg = undefined;
}
