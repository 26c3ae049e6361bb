import { createTestApp, TestApp } from '@custodian/testing';
import {
  addPatient,
  download,
  otherOrganisationRecipient,
  parseCsvGz,
  runRelease,
  seedPractice,
  spec,
} from './release-helpers';

/**
 * Probe 14, finding 1: free text reached a pseudonymised release through an observation's unit
 * (`valueQuantity.unit: "mg Jane Doe LS6 2QB"`, stored in `gp_events.value`). The intake now keeps
 * unit codes only; a value held from before, with free text, is released empty in every tier (as
 * a coded field with free text is), so the verifier — which refuses such a value — passes the
 * release instead of failing it.
 */
describe('observation values in releases: a number and a unit code, never free text', () => {
  let t: TestApp;
  let officer: { id: string; roles: string[] };

  beforeAll(async () => {
    t = await createTestApp();
    const o = await t.as('release_officer');
    officer = { id: o.user.id, roles: o.user.roles };
    await seedPractice(t.sql);
    const values = [
      '7.25 mmol/L',
      '-1 mg Jane Doe LS6 2QB',
      '120 mm[Hg]',
      '5 Smith 07700900123',
      '88 mL/min/{1.73_m2}',
      '42',
    ];
    for (let i = 0; i < 30; i++) {
      const id = await addPatient(t.sql, { nhs: String(9_400_000_000 + i), birth: '1960-01-01' });
      await t.sql.query(
        `INSERT INTO gp_events (patient_id, practice_ods, resource_type, resource_id, code_system, code, event_date, value)
         VALUES ($1, 'A81001', 'observation', $2, 'snomed', '1000001', DATE '2012-01-01', $3)`,
        [id, `o${i}`, values[i % values.length]],
      );
    }
  });
  afterAll(() => t?.close());

  it.each(['identifiable', 'pseudonymised'] as const)(
    '%s: a value held with free text is released empty; unit codes are kept',
    async (tier) => {
      const researcher = await otherOrganisationRecipient(t);
      const rel = await runRelease(
        t,
        spec({
          tier,
          legalBasis: 's251',
          datasets: [{ dataset: 'gp', fields: ['nhs_number', 'code', 'value'] }],
          recipients: [researcher.id],
          requestedBy: officer.id,
        }),
        officer,
      );
      expect(rel.failure_reason).toBeNull();
      const rows = parseCsvGz((await download(t, researcher.auth, rel.id, 'gp.csv.gz')).body).rows;
      const shown = new Set(rows.map((r) => r.value));
      expect([...shown].sort()).toEqual(
        ['', '42', '120 mm[Hg]', '7.25 mmol/L', '88 mL/min/{1.73_m2}'].sort(),
      );
      expect(rows.filter((r) => r.value === '')).toHaveLength(10);
    },
  );
});
