import type { TestApp } from '@custodian/testing';
import { ndjson, nhsNumber, patient } from './support/fhir';
import { activeObjection, nextSecond, upload } from './support/practice';
import {
  byNhs,
  instantBetweenReceipts,
  objectionAsOfNow,
  practiceApp,
  readEntry,
} from './support/objection-resend';

/**
 * Review 20, finding 1 (fail-open). `recordExtractEntries` no longer adds a registration read at the
 * time received when "a registration of this practice read at its time received stands already".
 * The test is per (practice, NHS number, type), not per resource: a NEW objection entry (another
 * Observation id: the patient objected again) in a later extract is dropped as if it were the first
 * one re-sent. SPEC §2 keeps re-sends idempotent "by patient + resource id", and reads an undated
 * objection at "the time received". A withdrawal dated between the first objection's receipt and the
 * second's, arriving afterwards (an extract of new entries), then cancels the only registration
 * held and lifts the objection, although the patient's latest act (the second objection, received
 * after the withdrawal's instant) is an objection. Before this change the second objection joined
 * the history at its time received and the objection stood.
 */
describe('review 20: a new undated objection is not the old one re-sent', () => {
  let t: TestApp;
  let a: { Authorization: string };
  beforeAll(async () => {
    ({ t, a } = await practiceApp());
  });
  afterAll(() => t?.close());

  it.each(['type2', 'type1'] as const)(
    "%s: a second objection (another entry) received after a withdrawal's instant keeps the objection in force",
    async (type) => {
      const [obj, wd] = type === 'type2' ? ['9Nu4', '9Nu5'] : ['9Nu0', '9Nu1'];
      const seed = type === 'type2' ? 1 : 2;
      const x = nhsNumber(952_000 + seed);
      const p = `r20p${seed}`;
      // 1. The patient objects (an entry with no date: read at the time received, t1).
      // Type 2: the Patient and its entries; Type 1: the entries by NHS number (nothing else leaves).
      const entry = (id: string, code: string, date?: Record<string, unknown>) =>
        readEntry(id, type === 'type2' ? p : byNhs(x), code, date);
      const withPatient = (rs: unknown[]) => (type === 'type2' ? [patient(p, x), ...rs] : rs);
      const first = await upload(t, a, 'A81001', ndjson(withPatient([entry(`${p}-a`, obj)])));
      expect(first.status).toBe(201);
      expect(first.body.objections).toBe(1);
      // The instant the practice later gives the withdrawal: after t1, before t2.
      const between = await instantBetweenReceipts();
      await nextSecond();
      // 2. The patient objects again: a NEW entry (another resource id), no date — received at t2.
      const second = await upload(
        t,
        a,
        'A81001',
        ndjson(withPatient([entry(`${p}-a`, obj), entry(`${p}-b`, obj)])),
      );
      expect(second.status).toBe(201);
      await nextSecond();
      // 3. An extract of new entries: the withdrawal the practice entered late, dated `between`
      //    (after the first objection, before the second).
      const late = await upload(
        t,
        a,
        'A81001',
        ndjson([entry(`${p}-w`, wd, { effectiveDateTime: between })]),
      );
      expect(late.body.objections).toBe(1);
      expect(late.status).toBe(201);
      // The second objection (received at t2 > between) is the latest act: in force.
      expect(await activeObjection(t, x, type)).toBe(true);
      expect(await objectionAsOfNow(t, x, type)).toBe(true);
    },
  );
});
