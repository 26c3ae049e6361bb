import type { TestApp } from '@custodian/testing';
import { NHS, ndjson, nhsNumber, patient } from './support/fhir';
import { activeObjection, nextSecond, upload } from './support/practice';
import { instantBetweenReceipts, practiceApp, readEntry } from './support/objection-resend';
import { extractorRun } from './support/extractor-run';

const extract = extractorRun('review21-split-');

/**
 * Review 21, finding 3 (the opposite harm; SPEC §2 idempotency). The extractor writes the source's
 * id on the first entry of a split only (objection-canonical.ts), and the centre tells a re-send of
 * an undated registration from a new one by that id alone (`resource_id`; none: "a new objection at
 * its own receipt"). So an undated registration the extractor splits — one entry per patient it
 * names — leaves every night as the same file, and the centre adds the id-less entries again at
 * each upload's time: re-sending the same extract duplicates the history (SPEC §2: "does not
 * duplicate anything"), and a withdrawal dated after the first receipt never lifts those entries —
 * the next night's upload puts the objection back after it. The same export sent raw (every row of
 * the line carries the id) is idempotent and the withdrawals lift it: the extractor's output and the
 * raw export disagree about a patient's objection.
 */
describe('review 21: an undated registration the extractor splits, sent again', () => {
  let t: TestApp;
  let a: { Authorization: string };
  beforeAll(async () => {
    ({ t, a } = await practiceApp());
  });
  afterAll(() => t?.close());

  // One registration naming two patients (a reference and, beside it, another patient's NHS number):
  // a registration applies to everyone it names (fail closed), so the extractor writes one entry each.
  const exportOf = (x1: string, x2: string, p: string, extra: unknown[] = []) => [
    patient(`${p}1`, x1),
    patient(`${p}2`, x2),
    readEntry(`${p}-o`, { reference: `Patient/${p}1`, identifier: { system: NHS, value: x2 } }, '9Nu4'),
    ...extra,
  ];
  // Each patient's withdrawal, dated `at`.
  const withdrawalsOfBoth = (p: string, at: string) => [
    readEntry(`${p}-w1`, { reference: `Patient/${p}1` }, '9Nu5', { effectiveDateTime: at }),
    readEntry(`${p}-w2`, { reference: `Patient/${p}2` }, '9Nu5', { effectiveDateTime: at }),
  ];

  it("the extractor's unchanged output, uploaded again, adds nothing", async () => {
    const [x1, x2] = [nhsNumber(962_301), nhsNumber(962_302)];
    const out = await extract(exportOf(x1, x2, 'r21s'));
    const first = await upload(t, a, 'A81001', out.text);
    expect(first.status).toBe(201);
    expect(first.body.objections).toBe(2);
    await nextSecond();
    const again = await upload(t, a, 'A81001', out.text);
    expect(again.status).toBe(201);
    expect(again.body.objections).toBe(0);
  });

  it('both patients withdraw (dated after the first receipt): the next nights lift both, as the raw export does', async () => {
    const [x1, x2] = [nhsNumber(962_311), nhsNumber(962_312)];
    const p = 'r21w';
    expect((await upload(t, a, 'A81001', (await extract(exportOf(x1, x2, p))).text)).status).toBe(201);
    const withdrawals = withdrawalsOfBoth(p, await instantBetweenReceipts());
    for (let night = 0; night < 2; night++) {
      await nextSecond();
      const res = await upload(t, a, 'A81001', (await extract(exportOf(x1, x2, p, withdrawals))).text);
      expect(res.status).toBe(201);
    }
    expect([await activeObjection(t, x1, 'type2'), await activeObjection(t, x2, 'type2')]).toEqual([
      false,
      false,
    ]);
  });

  it('control: the same export sent raw, withdrawals included, lifts both', async () => {
    const [x1, x2] = [nhsNumber(962_321), nhsNumber(962_322)];
    const p = 'r21r';
    expect((await upload(t, a, 'A81001', ndjson(exportOf(x1, x2, p)))).status).toBe(201);
    const withdrawals = withdrawalsOfBoth(p, await instantBetweenReceipts());
    for (let night = 0; night < 2; night++) {
      await nextSecond();
      expect((await upload(t, a, 'A81001', ndjson(exportOf(x1, x2, p, withdrawals)))).status).toBe(201);
    }
    expect([await activeObjection(t, x1, 'type2'), await activeObjection(t, x2, 'type2')]).toEqual([
      false,
      false,
    ]);
  });
});
