import type { TestApp } from '@custodian/testing';
import { ndjson, nhsNumber, patient, READ } from './support/fhir';
import { activeObjection, nextSecond, upload } from './support/practice';
import { instantBetweenReceipts, objectionAsOfNow, practiceApp } from './support/objection-resend';
import { download, parseCsvGz, runRelease, spec } from './release-helpers';

/**
 * Review 21, finding 2 (fail-open). `objection_events.resource_id` keeps the bare `id` of the line
 * (intake/objections.ts `nullif(id, '')`), and `recordExtractEntries` takes an undated registration
 * whose id it has seen before (same practice, patient, type) as that earlier resource re-sent. But a
 * FHIR id names a resource only within its type ("Observation/42" and "Condition/42" are two
 * resources), and the centre reads objections on Observations, Conditions and Procedures
 * (objection-date.ts OBJECTION_DATE_FIELDS: "the code, not the resource type, makes the
 * objection"). A practice system numbering each table on its own (as many do) codes the patient's
 * new objection on a Condition whose id happens to be the old Observation's: the centre drops it as
 * a re-send, the withdrawal (dated between the first receipt and the new objection) keeps the
 * objection lifted, and the patient is released at record level although their latest act is an
 * objection received after it. SPEC §2: idempotent "by patient + resource id"; latest instant wins.
 */
const entry = (
  resourceType: 'Observation' | 'Condition' | 'Procedure',
  id: string,
  subject: string,
  code: string,
  date?: Record<string, unknown>,
) => ({
  resourceType,
  id,
  ...(resourceType !== 'Condition' && { status: resourceType === 'Procedure' ? 'completed' : 'final' }),
  subject: { reference: `Patient/${subject}` },
  code: { coding: [{ system: READ, code }] },
  ...date,
});

describe('review 21: a resource id is an id within its resource type', () => {
  let t: TestApp;
  let a: { Authorization: string };
  beforeAll(async () => {
    ({ t, a } = await practiceApp());
  });
  afterAll(() => t?.close());

  it.each(['Condition', 'Procedure'] as const)(
    "a new undated objection on a %s whose id is the old Observation's is a new objection",
    async (newType) => {
      const seed = newType === 'Condition' ? 1 : 2;
      const x = nhsNumber(962_200 + seed);
      const p = `r21t${seed}`;
      const old = entry('Observation', '42', p, '9Nu4');
      // 1. The patient objects (no date: read at its first receipt, t0).
      expect((await upload(t, a, 'A81001', ndjson([patient(p, x), old]))).body.objections).toBe(1);
      const between = await instantBetweenReceipts();
      // 2. They withdraw (dated after t0): lifted, as designed.
      const withdrawal = entry('Observation', '43', p, '9Nu5', { effectiveDateTime: between });
      await upload(t, a, 'A81001', ndjson([patient(p, x), old, withdrawal]));
      expect(await activeObjection(t, x, 'type2')).toBe(false);
      await nextSecond();
      // 3. They object again: a new entry, another resource (Condition/42 or Procedure/42), no date.
      const again = entry(newType, '42', p, '9Nu4');
      const res = await upload(t, a, 'A81001', ndjson([patient(p, x), old, withdrawal, again]));
      expect(res.status).toBe(201);
      expect(res.body.objections).toBe(1);
      expect(await activeObjection(t, x, 'type2')).toBe(true);
      expect(await objectionAsOfNow(t, x)).toBe(true);
    },
  );

  it('and an identifiable release (Type 2 objectors excluded, SPEC §5 step 2) carries the objector, verified', async () => {
    const x = nhsNumber(962_205);
    const p = 'r21tr';
    const event = {
      resourceType: 'Condition',
      id: `${p}-c`,
      subject: { reference: `Patient/${p}` },
      code: { coding: [{ system: 'http://snomed.info/sct', code: '22298006' }] },
      onsetDateTime: '2012-05-01',
    };
    const old = entry('Observation', '7', p, '9Nu4');
    await upload(t, a, 'A81001', ndjson([patient(p, x), event, old]));
    const between = await instantBetweenReceipts();
    const withdrawal = entry('Observation', '8', p, '9Nu5', { effectiveDateTime: between });
    await upload(t, a, 'A81001', ndjson([patient(p, x), event, old, withdrawal]));
    await nextSecond();
    // The patient objects again: Condition/7, a new resource, received after the withdrawal's instant.
    await upload(
      t,
      a,
      'A81001',
      ndjson([patient(p, x), event, old, withdrawal, entry('Condition', '7', p, '9Nu4')]),
    );
    const officer = await t.as('release_officer');
    const researcher = await t.as('researcher');
    const s = spec({
      recipients: [researcher.user.id],
      requestedBy: officer.user.id,
      tier: 'identifiable',
      datasets: [{ dataset: 'gp', fields: ['nhs_number', 'code', 'event_date'] }],
    });
    const rel = await runRelease(t, s, { id: officer.user.id, roles: officer.user.roles });
    expect(rel.state).toBe('completed');
    const csv = parseCsvGz((await download(t, researcher.auth, rel.id, 'gp.csv.gz')).body);
    expect(csv.rows.map((r) => r.nhs_number)).not.toContain(x);
  });

  it('control: the same new objection on Observation/44 (an id not seen) keeps the objection in force', async () => {
    const x = nhsNumber(962_209);
    const p = 'r21tc';
    const old = entry('Observation', '42', p, '9Nu4');
    await upload(t, a, 'A81001', ndjson([patient(p, x), old]));
    const between = await instantBetweenReceipts();
    const withdrawal = entry('Observation', '43', p, '9Nu5', { effectiveDateTime: between });
    await upload(t, a, 'A81001', ndjson([patient(p, x), old, withdrawal]));
    await nextSecond();
    await upload(
      t,
      a,
      'A81001',
      ndjson([patient(p, x), old, withdrawal, entry('Observation', '44', p, '9Nu4')]),
    );
    expect(await activeObjection(t, x, 'type2')).toBe(true);
  });
});
