import { CredentialEntity } from '../../src/modules/connections/entities/credential.entity.js';
import { SelectedCalendarEntity } from '../../src/modules/connections/entities/selected-calendar.entity.js';
import { findById } from '../../src/infrastructure/database/find-by-id.js';
import { type TestApp, createTestApp } from '../support/create-test-app.js';
import { connectGoogleHost } from '../support/fixtures.js';

/** The hot-path loader must give exactly what the ORM gives, for every column. */
describe('findById', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('loads the same entity the ORM loads, and null for an unknown id', async () => {
    const host = await connectGoogleHost(t, { destination: false });
    const selected = await t.api
      .post(`/api/v1/users/${host.userId}/selected-calendars`)
      .send({ credentialId: host.credentialId, externalId: host.calendarId })
      .expect(201);
    const calendar = await findById(t.dataSource, SelectedCalendarEntity, selected.body.id);
    expect(calendar).toBeInstanceOf(SelectedCalendarEntity);
    expect(calendar).toEqual(await t.dataSource.manager.findOneBy(SelectedCalendarEntity, { id: selected.body.id }));
    expect(calendar?.createdAt).toBeInstanceOf(Date);

    const credential = await findById(t.dataSource, CredentialEntity, host.credentialId);
    expect(credential).toBeInstanceOf(CredentialEntity);
    expect(credential).toEqual(await t.dataSource.manager.findOneBy(CredentialEntity, { id: host.credentialId }));

    expect(await findById(t.dataSource, CredentialEntity, 987_654)).toBeNull();
  });
});
