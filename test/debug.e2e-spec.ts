import { createTestApp, TestApp } from '@custodian/testing';
import { ReleaseEngine, ReleaseService } from '@custodian/release';
import { addEvent, addPatient, seedPractice, spec } from './release-helpers';

it('debug', async () => {
  const t: TestApp = await createTestApp({ RUN_WORKER: 'false' });
  await seedPractice(t.sql);
  const id0 = await addPatient(t.sql, { nhs: '9000000001' });
  await addEvent(t.sql, id0);
  const o = await t.as('release_officer');
  const { id } = await t.app.get(ReleaseService).request(spec({ recipients: [o.user.id], requestedBy: o.user.id }), o.user as never);
  try { await t.app.get(ReleaseEngine).run(id); } catch (e) { console.log('ERR', e); }
  console.log((await t.sql.query('select state, failure_reason, excluded, manifest from releases')).rows);
  await t.close();
});
