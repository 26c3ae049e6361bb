import type { TestApp } from '@custodian/testing';
import { ndjson, nhsNumber, patient } from './support/fhir';
import { activeObjection, upload } from './support/practice';
import {
  isoDaysAgo,
  objectionAsOfNow,
  practiceApp,
  readEntry,
  receivedDaysAgo,
  todayUtc,
} from './support/objection-resend';

/**
 * Review 21, finding 1 (fail-open). `recordExtractEntries` skips a registration "read at the time
 * received" whenever this practice already holds an at-received registration of the same patient,
 * type and resource id — whatever the entry now says. But "read at the time received" is not only
 * "no date": a registration dated by a day still running (today, date only) or in the future is
 * read at the time received too (objection-date.ts `dateOf`). So when the practice's record gives the
 * same entry a new, valid date — today — after a withdrawal (the patient objected again and the entry
 * was re-dated; or a typo'd future date corrected to today), the centre takes it for the old
 * undated receipt and drops it. The withdrawal, dated days before the entry's own date, then keeps
 * the objection lifted: the patient's record says "objection, dated today; withdrawal, dated three
 * days ago" (SPEC §2: "latest instant per type wins"), the register and `objections_as_of` say no
 * objection, and a record-level release includes them. It stays lifted until some later upload
 * reads the date as past — with no later upload, for good.
 *
 * The first upload is moved five days back in the database (an upload made five days ago), so that
 * the withdrawal's date lies between it and today, as it would in practice.
 */
describe('review 21: an undated objection re-dated today is not the old receipt', () => {
  let t: TestApp;
  let a: { Authorization: string };
  beforeAll(async () => {
    ({ t, a } = await practiceApp());
  });
  afterAll(() => t?.close());

  it.each([
    ['no date', 1, undefined],
    ['a mistyped date in the future', 2, { effectiveDateTime: '2999-01-01' }],
  ])(
    'first sent with %s, withdrawn three days ago, then dated today: the objection is in force',
    async (_, seed, firstDate) => {
      const x = nhsNumber(962_100 + (seed as number));
      const p = `r21d${seed}`;
      // 1. Five days ago: the practice's record holds the objection without a usable date.
      const first = await upload(
        t,
        a,
        'A81001',
        ndjson([patient(p, x), readEntry(`${p}-o`, p, '9Nu4', firstDate)]),
      );
      expect(first.status).toBe(201);
      expect(first.body.objections).toBe(1);
      await receivedDaysAgo(t, x, 5);
      // 2. Three days ago the patient withdrew (dated to the second); the entry is still in the record.
      const withdrawal = readEntry(`${p}-w`, p, '9Nu5', { effectiveDateTime: isoDaysAgo(3) });
      const second = await upload(
        t,
        a,
        'A81001',
        ndjson([patient(p, x), readEntry(`${p}-o`, p, '9Nu4', firstDate), withdrawal]),
      );
      expect(second.status).toBe(201);
      expect(await activeObjection(t, x, 'type2')).toBe(false); // as designed: lifted
      // 3. Today the patient objects again: the practice's entry now carries today's date — a date,
      // valid, three days after the withdrawal. The latest instant is the objection's.
      const redated = readEntry(`${p}-o`, p, '9Nu4', { effectiveDateTime: todayUtc() });
      const third = await upload(t, a, 'A81001', ndjson([patient(p, x), redated, withdrawal]));
      expect(third.status).toBe(201);
      expect(await activeObjection(t, x, 'type2')).toBe(true);
      expect(await objectionAsOfNow(t, x)).toBe(true);
    },
  );

  it('control: re-dated to yesterday (a day no longer running), the same entry is added and the objection stands', async () => {
    const x = nhsNumber(962_109);
    const p = 'r21dc';
    expect(
      (await upload(t, a, 'A81001', ndjson([patient(p, x), readEntry(`${p}-o`, p, '9Nu4')]))).status,
    ).toBe(201);
    await receivedDaysAgo(t, x, 5);
    const withdrawal = readEntry(`${p}-w`, p, '9Nu5', { effectiveDateTime: isoDaysAgo(3) });
    await upload(t, a, 'A81001', ndjson([patient(p, x), readEntry(`${p}-o`, p, '9Nu4'), withdrawal]));
    expect(await activeObjection(t, x, 'type2')).toBe(false);
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    await upload(
      t,
      a,
      'A81001',
      ndjson([patient(p, x), readEntry(`${p}-o`, p, '9Nu4', { effectiveDateTime: yesterday }), withdrawal]),
    );
    expect(await activeObjection(t, x, 'type2')).toBe(true);
  });
});
