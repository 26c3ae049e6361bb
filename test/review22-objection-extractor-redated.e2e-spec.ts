import type { TestApp } from '@custodian/testing';
import { nhsNumber, patient } from './support/fhir';
import { activeObjection, upload } from './support/practice';
import {
  isoDaysAgo,
  objectionAsOfNow,
  practiceApp,
  readEntry,
  receivedDaysAgo,
  todayUtc,
} from './support/objection-resend';
import { extractorRun } from './support/extractor-run';

const extract = extractorRun('review22-redated-');

/**
 * Review 22, finding 1 (fail-open, critical). Review-21 #1 (an undated objection re-dated today after
 * a withdrawal was taken for the old receipt) was fixed by hashing the entry's date elements "as
 * sent" into its key (objection-key.ts). But the practice-side extractor — the way SPEC §2 has
 * extracts leave the practice — writes a registration read at the time received *without any date*
 * (objection-canonical.ts: "no date, an odd one, one in the future, a day still running"). So the
 * entry re-dated today (a date, valid, after the withdrawal) leaves the extractor exactly as the old
 * undated entry did: same type, same id, no date elements — the same objectionKey — and the centre
 * skips it as a re-send of the first receipt (`recordExtractEntries`). The practice's record (and the
 * extractor's own reading) says the Type 2 objection is in force; the register and objections_as_of
 * say it is lifted, and a record-level release includes the patient.
 */
describe('review 22: through the extractor, an undated objection re-dated today is still the old receipt', () => {
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
    'first exported with %s, withdrawn three days ago, then dated today: the objection is in force',
    async (_, seed, firstDate) => {
      const x = nhsNumber(972_100 + (seed as number));
      const p = `r22e${seed}`;
      // 1. Five days ago: the practice's record holds the objection without a usable date.
      const out1 = await extract([patient(p, x), readEntry(`${p}-o`, p, '9Nu4', firstDate)]);
      const first = await upload(t, a, 'A81001', out1.text);
      expect(first.status).toBe(201);
      expect(first.body.objections).toBe(1);
      await receivedDaysAgo(t, x, 5);
      // 2. Three days ago the patient withdrew (dated to the second).
      const withdrawal = readEntry(`${p}-w`, p, '9Nu5', { effectiveDateTime: isoDaysAgo(3) });
      const out2 = await extract([patient(p, x), readEntry(`${p}-o`, p, '9Nu4', firstDate), withdrawal]);
      expect((await upload(t, a, 'A81001', out2.text)).status).toBe(201);
      expect(await activeObjection(t, x, 'type2')).toBe(false); // as designed: lifted
      // 3. Today the patient objects again: the entry now carries today's date, three days after
      // the withdrawal. The latest instant is the objection's (SPEC §2).
      const redated = readEntry(`${p}-o`, p, '9Nu4', { effectiveDateTime: todayUtc() });
      const out3 = await extract([patient(p, x), redated, withdrawal]);
      // The mechanism: the extractor writes the re-dated entry with no date at all, as in step 1 —
      // now under an id that carries the source's dates (objection-canonical.ts), not the old one's.
      const registration = (o: { lines: Record<string, unknown>[] }) =>
        o.lines.find((l) => l.resourceType === 'Observation' && JSON.stringify(l.code).includes('"9Nu4"'))!;
      const written = registration(out3);
      expect(written).toBeDefined();
      expect(written).not.toHaveProperty('effectiveDateTime');
      expect(written.id).not.toBe(registration(out1).id);
      const third = await upload(t, a, 'A81001', out3.text);
      expect(third.status).toBe(201);
      // The same export uploaded raw is honoured (review-21's fix): only the extractor's form is lost.
      expect(await activeObjection(t, x, 'type2')).toBe(true);
      expect(await objectionAsOfNow(t, x)).toBe(true);
    },
  );
});
