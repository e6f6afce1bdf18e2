import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { type TestApp, createTestApp } from '../support/create-test-app.js';

interface Operation {
  operationId: string;
  security?: Array<Record<string, string[]>>;
  responses: Record<string, { $ref?: string; content?: Record<string, { schema?: unknown }> }>;
}
type Document = {
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes: Record<string, unknown>; schemas: Record<string, unknown> };
};

const REGENERATE = 'openapi.json is out of date: run `npm run openapi` and commit openapi.json';

/** The committed openapi.json is what the app serves, and is fit to generate a typed client from. */
describe('OpenAPI description', () => {
  let t: TestApp;
  let served: Document;
  let operations: Array<{ method: string; path: string; op: Operation }>;

  beforeAll(async () => {
    t = await createTestApp();
    served = (await t.http.get('/docs-json').expect(200)).body as Document;
    operations = Object.entries(served.paths).flatMap(([path, item]) =>
      Object.entries(item).map(([method, op]) => ({ method, path, op })),
    );
  });
  afterAll(async () => {
    await t.close();
  });

  it('the committed openapi.json is the served /docs-json (else: npm run openapi)', () => {
    const committed = readFileSync(resolve(process.cwd(), 'openapi.json'), 'utf8');
    const servedText = `${JSON.stringify(served, null, 2)}\n`;
    if (committed !== servedText) {
      const a = committed.split('\n');
      const b = servedText.split('\n');
      const line = a.findIndex((text, i) => text !== b[i]);
      throw new Error(
        `${REGENERATE}\nfirst difference at line ${line + 1}:\n  committed: ${a[line] ?? '<end>'}\n  served:    ${b[line] ?? '<end>'}`,
      );
    }
  });

  it('operation ids are unique and readable (verbNoun, no controller names)', () => {
    const ids = operations.map(({ op }) => op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^[a-z]+[A-Z][A-Za-z]*$/);
    expect(ids.filter((id) => /Controller|_/.test(id))).toEqual([]);
    expect(ids).toEqual(
      expect.arrayContaining(['createBooking', 'listBookings', 'getBooking', 'rescheduleBooking', 'cancelBooking']),
    );
  });

  it('admin routes need the admin key, the OAuth callback none, every other route the application key', () => {
    expect(Object.keys(served.components.securitySchemes).sort()).toEqual(['adminKey', 'appKey']);
    for (const { path, op } of operations) {
      const schemes = (op.security ?? []).flatMap((s) => Object.keys(s));
      if (path.startsWith('/api/v1/admin/')) expect([path, schemes]).toEqual([path, ['adminKey']]);
      else if (path.endsWith('/oauth/callback')) expect([path, schemes]).toEqual([path, []]);
      else if (path.startsWith('/api/v1/')) expect([path, schemes]).toEqual([path, ['appKey']]);
    }
    // Provider webhooks and health are not part of the host API.
    expect(Object.keys(served.paths).filter((p) => p.startsWith('/api/webhooks') || p.startsWith('/health'))).toEqual([]);
  });

  it('every operation describes its success body and answers errors as problem+json', () => {
    const missing: string[] = [];
    for (const { method, path, op } of operations) {
      // A success body, or a redirect (the OAuth browser routes).
      const success = Object.entries(op.responses).filter(([status]) => /^[23]\d\d$/.test(status));
      expect([path, success.length > 0]).toEqual([path, true]);
      for (const [status, response] of success) {
        if (status === '204' || status.startsWith('3')) continue;
        if (!response.content?.['application/json']?.schema) missing.push(`${method.toUpperCase()} ${path} (${status})`);
      }
      expect(op.responses['5XX']).toEqual({ $ref: '#/components/responses/ServerError' });
      expect(op.responses['4XX']).toEqual({ $ref: '#/components/responses/ClientError' });
    }
    expect(missing).toEqual([]);
    expect(served.components.schemas.Problem).toMatchObject({
      required: expect.arrayContaining(['type', 'title', 'status', 'detail', 'code', 'requestId']),
    });
  });
});
