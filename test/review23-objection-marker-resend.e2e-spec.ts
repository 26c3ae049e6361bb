import type { TestApp } from '@custodian/testing';
import { condition, ndjson, NHS, nhsNumber, patient } from './support/fhir';
import { activeObjection, upload } from './support/practice';
import {
  byNhs,
  heldEvents,
  isoDaysAgo,
  objectionAsOfNow,
  practiceApp,
  readEntry,
  receivedDaysAgo,
} from './support/objection-resend';

/**
 * Review 23, finding 1 (fail-open). A registration read at the time received is now its entry's
 * first receipt (objections.service.ts `recordExtractEntries`): sent again, it is not added again.
 * Before that rule, the re-sent undated registration joined the history at each upload's time, so a
 * withdrawal the practice later took back could never outlive the next upload. Now only the
 * retraction of withdrawals (`retractMissingWithdrawals`) can bring the objection back — and that
 * retracts only for patients whose *Patient line* the extract carries. A Type 1 objector is exactly
 * the patient whose Patient line does not leave the practice (SPEC §2: "for each of them only an
 * objection marker (NHS number + objection code) goes out"). So when the practice corrects an
 * erroneous Type 1 withdrawal (marks it entered-in-error, or removes it), its next extract carries
 * the objector as SPEC's marker — the objection entry by NHS number — the centre takes the
 * registration for the old first receipt, retracts nothing, and the register stays lifted: the
 * GP data the centre stored while the withdrawal stood is kept, and is released.
 */
describe('review 23: a Type 1 withdrawal taken back, sent as the SPEC marker, keeps the objection lifted', () => {
  let t: TestApp;
  let a: { Authorization: string };
  beforeAll(async () => {
    ({ t, a } = await practiceApp());
  });
  afterAll(() => t?.close());

  const send = async (resources: unknown[]) => {
    const res = await upload(t, a, 'A81001', ndjson(resources));
    expect(res.status).toBe(201);
    return res.body;
  };

  it.each([
    ['marked entered-in-error', 1, true],
    ['removed from the record', 2, false],
  ])(
    'the withdrawal %s: the Type 1 objection is in force again and the GP data goes',
    async (_, seed, inError) => {
      const n = nhsNumber(923_100 + (seed as number));
      const p = `r23m${seed}`;
      const registration = readEntry(`${p}-o`, byNhs(n), '9Nu0'); // undated: read at the time received
      // 1. Five days ago: a Type 1 objector, sent as the marker (NHS number + objection code).
      const first = await send([registration]);
      expect(first.objections).toBe(1);
      await receivedDaysAgo(t, n, 5);
      expect(await activeObjection(t, n, 'type1')).toBe(true);
      // 2. A withdrawal dated three days ago is recorded (by mistake, as it turns out): the practice's
      // system no longer applies Type 1, so the patient leaves in full.
      const withdrawal = readEntry(`${p}-w`, byNhs(n), '9Nu1', { effectiveDateTime: isoDaysAgo(3) });
      await send([patient(p, n), condition(`${p}-c`, p), registration, withdrawal]);
      expect(await activeObjection(t, n, 'type1')).toBe(false);
      expect(await heldEvents(t, n)).toBe(1);
      // 3. The practice corrects its record: the withdrawal was entered in error (or is removed). The
      // record holds the Type 1 objection in force, so only the marker leaves again.
      const third = inError ? [registration, { ...withdrawal, status: 'entered-in-error' }] : [registration];
      await send(third);
      // The practice's record: an objection, and no withdrawal. It is in force; nothing of the patient
      // may stay held (SPEC §2: "any GP-derived data already held for them is deleted").
      expect(await activeObjection(t, n, 'type1')).toBe(true);
      expect(await objectionAsOfNow(t, n, 'type1')).toBe(true);
      expect(await heldEvents(t, n)).toBe(0);
    },
  );

  it('the same hole with a dated registration (the retraction alone never reaches a marker)', async () => {
    const n = nhsNumber(923_108);
    const p = 'r23m8';
    const registration = readEntry(`${p}-o`, byNhs(n), '9Nu0', { effectiveDateTime: isoDaysAgo(5) });
    await send([registration]);
    const withdrawal = readEntry(`${p}-w`, byNhs(n), '9Nu1', { effectiveDateTime: isoDaysAgo(3) });
    await send([patient(p, n), condition(`${p}-c`, p), registration, withdrawal]);
    expect(await activeObjection(t, n, 'type1')).toBe(false);
    await send([registration]);
    expect(await activeObjection(t, n, 'type1')).toBe(true);
    expect(await heldEvents(t, n)).toBe(0);
  });

  it('control: the same correction with the Patient line carried is honoured', async () => {
    const n = nhsNumber(923_109);
    const p = 'r23m9';
    const registration = readEntry(`${p}-o`, byNhs(n), '9Nu0');
    await send([registration]);
    await receivedDaysAgo(t, n, 5);
    const withdrawal = readEntry(`${p}-w`, byNhs(n), '9Nu1', { effectiveDateTime: isoDaysAgo(3) });
    await send([patient(p, n), condition(`${p}-c`, p), registration, withdrawal]);
    expect(await activeObjection(t, n, 'type1')).toBe(false);
    await send([{ resourceType: 'Patient', id: p, identifier: [{ system: NHS, value: n }] }, registration]);
    expect(await activeObjection(t, n, 'type1')).toBe(true);
    expect(await heldEvents(t, n)).toBe(0);
  });
});
