import type { AppConfig } from '../config/app-config.js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startupBanner, writeSandboxExample } from './banner.js';
import type { Sandbox } from './sandbox.js';

const dataDir = mkdtempSync(join(tmpdir(), 'calsync-banner-spec-'));
const config = (generated: { apiKey: boolean; adminApiKey: boolean }) =>
  ({
    appUrl: 'http://localhost:3000',
    dataDir,
    apiKey: 'app-key-set-by-the-operator-0123456789',
    adminApiKey: 'admin-key-generated-here-0123456789',
    generated,
  }) as unknown as AppConfig;
const sandbox = { stateDir: join(dataDir, 'sandbox'), accounts: [] } as unknown as Sandbox;

describe('startupBanner', () => {
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('prints the keys it generated, never one the operator set (the printed example reads that one from the environment)', () => {
    const banner = startupBanner(config({ apiKey: false, adminApiKey: true }), 'embedded', sandbox);
    expect(banner).not.toContain('app-key-set-by-the-operator-0123456789');
    expect(banner).toContain('API_KEY:       (yours, from API_KEY; not printed)');
    expect(banner).toContain('ADMIN_API_KEY: admin-key-generated-here-0123456789');
    expect(banner).toContain('KEY="${API_KEY:?set API_KEY as calsync has it}"');
    expect(banner).toContain('ADMIN_KEY=admin-key-generated-here-0123456789\n');
  });

  it('keeps a key the operator set out of the example file too', () => {
    const path = writeSandboxExample(config({ apiKey: false, adminApiKey: true }), sandbox);
    const script = readFileSync(path!, 'utf8');
    expect(script).not.toContain('app-key-set-by-the-operator-0123456789');
    expect(script).toContain('KEY="${API_KEY:?set API_KEY as calsync has it}"');
    expect(script).toContain('admin-key-generated-here-0123456789');
  });

  it('says nothing of keys when both were set', () => {
    const banner = startupBanner(config({ apiKey: false, adminApiKey: false }), 'embedded');
    expect(banner).not.toMatch(/API_KEY/);
  });

  it('links the API docs only where they are served (production closes them unless DOCS_ENABLED)', () => {
    const served = startupBanner({ ...config({ apiKey: false, adminApiKey: false }), docsEnabled: true }, 'embedded');
    expect(served).toContain('API docs:  http://localhost:3000/docs');
    const closed = startupBanner({ ...config({ apiKey: false, adminApiKey: false }), docsEnabled: false }, 'embedded');
    expect(closed).not.toMatch(/docs/);
    expect(closed).toContain('health:    http://localhost:3000/health');
  });
});
