/**
 * `npm run openapi`: writes the OpenAPI description (the one `/docs-json` serves) to `openapi.json`
 * at the repository root, for host teams to generate clients from. Needs no database: the app is
 * built in Nest's preview mode (routes and metadata, no providers run). `--check` only compares and
 * exits 1 when the committed file is out of date.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createApp } from '../src/bootstrap/create-app.js';
import { OPENAPI_FILE, serializeOpenApi } from '../src/bootstrap/openapi.js';
import { loadConfig } from '../src/config/load-config.js';

async function main(): Promise<void> {
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'error',
    DATABASE_URL: 'postgres://unused@127.0.0.1:1/unused',
    API_KEY: 'openapi-generation-app-key',
    ADMIN_API_KEY: 'openapi-generation-admin-key',
    ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
  });
  const app = await createApp(config, config.databaseUrl ?? '', { preview: true });
  const text = serializeOpenApi(app);
  await app.close();
  const file = resolve(process.cwd(), OPENAPI_FILE);
  if (process.argv.includes('--check')) {
    let committed = '';
    try {
      committed = readFileSync(file, 'utf8');
    } catch {
      // missing counts as out of date
    }
    if (committed !== text) {
      process.stderr.write(`${OPENAPI_FILE} is out of date: run \`npm run openapi\` and commit it\n`);
      process.exit(1);
    }
    process.stdout.write(`${OPENAPI_FILE} is up to date\n`);
    return;
  }
  writeFileSync(file, text);
  process.stdout.write(`wrote ${OPENAPI_FILE}\n`);
}

await main();
