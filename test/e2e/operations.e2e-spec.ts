import { type TestApp, createTestApp } from '../support/create-test-app.js';

describe('Operations endpoints and database compatibility', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('reports health, metrics and the OpenAPI document without a key', async () => {
    await t.http.get('/health').expect(200, { status: 'ok', database: 'up' });
    const metrics = await t.http.get('/metrics').expect(200);
    expect(metrics.text).toContain('calsync_notifications_received_total');
    expect(metrics.text).toContain('calsync_provider_api_calls_total');
    const docs = await t.http.get('/docs-json').expect(200);
    expect(Object.keys(docs.body.paths)).toEqual(expect.arrayContaining(['/api/v1/bookings', '/api/v1/users']));
  });

  it('accepts the seed document’s feature-flag SQL verbatim', async () => {
    await t.api.post('/api/v1/users').send({ id: 123, email: 'seed-user@example.com', timeZone: 'UTC' }).expect(201);
    await t.api.post('/api/v1/teams').send({ id: 456, name: 'Seed team' }).expect(201);
    const flags: Array<{ slug: string; enabled: boolean }> = await t.dataSource.query(
      `SELECT "slug", "enabled" FROM "Feature" ORDER BY "slug"`,
    );
    expect(flags).toEqual([
      { slug: 'calendar-subscription-cache', enabled: false },
      { slug: 'calendar-subscription-sync', enabled: false },
    ]);
    await t.dataSource.query(`
INSERT INTO "Feature" ("slug", "enabled", "description", "type", "stale", "lastUsedAt", "createdAt", "updatedAt", "updatedBy") 
VALUES ('calendar-subscription-cache', false, 'Allow calendar cache to be recorded and used through calendars.', 'OPERATIONAL', false, NULL, NOW(), NOW(), NULL) 
ON CONFLICT (slug) DO NOTHING;`);
    await t.dataSource.query(`
INSERT INTO "Feature" ("slug", "enabled", "description", "type", "stale", "lastUsedAt", "createdAt", "updatedAt", "updatedBy") 
VALUES ('calendar-subscription-sync', false, 'Enable calendar sync for all calendars globally.', 'OPERATIONAL', false, NULL, NOW(), NOW(), NULL) 
ON CONFLICT (slug) DO NOTHING;`);
    await t.dataSource.query(`
-- Enable calendar-subscription-cache for user ID 123  
INSERT INTO "UserFeatures" ("userId", "featureId", "assignedAt", "assignedBy", "updatedAt") 
VALUES (123, 'calendar-subscription-cache', NOW(), 'admin', NOW()) 
ON CONFLICT ("userId", "featureId") DO NOTHING;`);
    await t.dataSource.query(`
-- Enable calendar-subscription-sync for user ID 123
INSERT INTO "UserFeatures" ("userId", "featureId", "assignedAt", "assignedBy", "updatedAt") 
VALUES (123, 'calendar-subscription-sync', NOW(), 'admin', NOW()) 
ON CONFLICT ("userId", "featureId") DO NOTHING;`);
    await t.dataSource.query(`
-- Enable calendar-subscription-cache for team ID 456
INSERT INTO "TeamFeatures" ("teamId", "featureId", "assignedAt", "assignedBy", "updatedAt") 
VALUES (456, 'calendar-subscription-cache', NOW(), 'admin', NOW()) 
ON CONFLICT ("teamId", "featureId") DO NOTHING;

-- Enable calendar-subscription-sync for team ID 456
INSERT INTO "TeamFeatures" ("teamId", "featureId", "assignedAt", "assignedBy", "updatedAt") 
VALUES (456, 'calendar-subscription-sync', NOW(), 'admin', NOW()) 
ON CONFLICT ("teamId", "featureId") DO NOTHING;`);
    const users: Array<{ enabled: boolean }> = await t.dataSource.query(
      `SELECT "enabled" FROM "UserFeatures" WHERE "userId" = 123`,
    );
    expect(users).toEqual([{ enabled: true }, { enabled: true }]);
    const teams: Array<{ enabled: boolean }> = await t.dataSource.query(
      `SELECT "enabled" FROM "TeamFeatures" WHERE "teamId" = 456`,
    );
    expect(teams).toEqual([{ enabled: true }, { enabled: true }]);
  });
});
