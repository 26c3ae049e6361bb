import { createTestApp, TestApp } from '@custodian/testing';
import { ReleaseEngine, ReleaseService } from '@custodian/release';
import { addEvent, addHes, addPatient, addSocialCare, newLoad, seedPractice, spec } from './release-helpers';

it('debug', async () => {
  const t: TestApp = await createTestApp({ RUN_WORKER: 'false' });
  await seedPractice(t.sql);
  const id0 = await addPatient(t.sql, { nhs: '9000000001' });
  await addEvent(t.sql, id0);
  const hes = await newLoad(t.sql, 'hes');
  const sc = await newLoad(t.sql, 'social_care');
  await addHes(t.sql, hes, { nhs: null, patientId: id0, step: 6 });
  await addSocialCare(t.sql, sc, { nhs: '9000000001', patientId: id0 });
  await addHes(t.sql, hes, { nhs: '9000000002' });
  const o = await t.as('release_officer');
  for (const tier of ['identifiable', 'pseudonymised'] as const) {
  const { id } = await t.app.get(ReleaseService).request(spec({ tier, datasets: [
    { dataset: 'gp' as const, fields: ['nhs_number', 'date_of_birth', 'postcode', 'sex', 'code', 'event_date'] },
    { dataset: 'hes' as const, fields: ['nhs_number', 'admission_date', 'diagnosis_icd10', 'linkage_step'] },
    { dataset: 'social_care' as const, fields: ['nhs_number', 'service_type', 'start_date'] },
  ], recipients: [o.user.id], requestedBy: o.user.id }), o.user as never);
  try { await t.app.get(ReleaseEngine).run(id); } catch (e) { console.log('ERR', e); }
  console.log((await t.sql.query('select state, failure_reason, excluded from releases where id=$1', [id])).rows);
  }
  await t.close();
});
