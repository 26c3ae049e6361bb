import type { TestApp } from '@custodian/testing';
import { ndjson, nhsNumber, patient } from './support/fhir';
import { activeObjection, nextSecond, upload } from './support/practice';
import {
  instantBetweenReceipts,
  practiceApp,
  readEntry,
  withdrawThroughApi,
} from './support/objection-resend';
import { extractorRun } from './support/extractor-run';

const extract = extractorRun('resend-undated-');

/**
 * SPEC §2: "Re-sending the same extract does not duplicate anything", and an objection "whose date
 * is missing … or odd is still an objection (… else the time received)". Such a registration was
 * read at each upload's time, so the same extract sent again added it to the history again, each
 * time (closing note of 2026-12-07, left then).
 */
describe('an objection without a date of its own, sent again', () => {
  let t: TestApp;
  let a: { Authorization: string };
  beforeAll(async () => {
    ({ t, a } = await practiceApp());
  });
  afterAll(() => t?.close());

  const history = async (n: string) =>
    (
      await t.sql.query(
        `SELECT action, effective_at FROM objection_events WHERE nhs_number = $1 ORDER BY effective_at, action`,
        [n],
      )
    ).rows as { action: string; effective_at: Date }[];
  const active = (n: string) => activeObjection(t, n, 'type2');

  it.each([
    ['no date', undefined],
    ['an odd date', { effectiveDateTime: 'last spring' }],
    ['a date in the future', { effectiveDateTime: '2999-01-01T00:00:00Z' }],
  ])('with %s joins the history once, however often the extract is sent', async (_, date) => {
    const seed = { 'no date': 1, 'an odd date': 2, 'a date in the future': 3 }[_ as string]!;
    const x = nhsNumber(932_000 + seed);
    const body = ndjson([patient(`u${seed}`, x), readEntry(`u${seed}-o`, `u${seed}`, '9Nu4', date)]);
    const first = await upload(t, a, 'A81001', body);
    expect(first.status).toBe(201);
    expect(first.body.objections).toBe(1);
    for (let i = 0; i < 2; i++) {
      await nextSecond();
      const again = await upload(t, a, 'A81001', body);
      expect(again.status).toBe(201);
      expect(again.body.objections).toBe(0);
    }
    expect(await history(x)).toHaveLength(1);
    expect(await active(x)).toBe(true);
  });

  it("the extractor's output of each night joins the history once (written without a date, read at the centre's time)", async () => {
    const x = nhsNumber(932_031);
    const exported = [patient('n', x), readEntry('n-o', 'n', '9Nu4')];
    const first = await extract(exported);
    const entry = first.lines.find((l) => l.resourceType === 'Observation')!;
    expect(entry.effectiveDateTime).toBeUndefined();
    expect((await upload(t, a, 'A81001', first.text)).body.objections).toBe(1);
    for (let night = 0; night < 2; night++) {
      await nextSecond();
      const again = await extract(exported);
      const res = await upload(t, a, 'A81001', again.text);
      expect(res.status).toBe(201);
      expect(res.body.objections).toBe(0);
    }
    expect(await history(x)).toHaveLength(1);
    expect(await active(x)).toBe(true);
  });

  // The entry is its resource's first receipt (SPEC §2: idempotent "by patient + resource id"): it
  // existed then, so a withdrawal dated after that is later than it, and lifts it, whatever re-sends
  // follow — while a new objection (another resource) is a new entry (review-20's tests).
  it('is its first receipt: a withdrawal dated after it, sent with it again, lifts it', async () => {
    const x = nhsNumber(932_011);
    const undated = readEntry('v-o', 'v', '9Nu4');
    expect((await upload(t, a, 'A81001', ndjson([patient('v', x), undated]))).status).toBe(201);
    const after = await instantBetweenReceipts();
    const withdrawal = readEntry('v-w', 'v', '9Nu5', { effectiveDateTime: after });
    const res = await upload(t, a, 'A81001', ndjson([patient('v', x), undated, withdrawal]));
    expect(res.status).toBe(201);
    expect(res.body.objections).toBe(1);
    expect(await active(x)).toBe(false);
    expect(await history(x)).toHaveLength(2);
  });

  it('is not brought back by re-sending it once a withdrawal through the API has lifted it', async () => {
    const x = nhsNumber(932_021);
    const undated = readEntry('w-o', 'w', '9Nu4');
    expect((await upload(t, a, 'A81001', ndjson([patient('w', x), undated]))).status).toBe(201);
    await nextSecond();
    await withdrawThroughApi(t, a, x);
    expect(await active(x)).toBe(false);
    await nextSecond();
    const res = await upload(t, a, 'A81001', ndjson([patient('w', x), undated]));
    expect(res.body.objections).toBe(0);
    expect(await active(x)).toBe(false);
  });

  it('of another resource is a new objection, at its own receipt, even beside the first', async () => {
    const x = nhsNumber(932_041);
    const first = readEntry('y-o', 'y', '9Nu4');
    expect((await upload(t, a, 'A81001', ndjson([patient('y', x), first]))).status).toBe(201);
    await nextSecond();
    await withdrawThroughApi(t, a, x);
    await nextSecond();
    const res = await upload(
      t,
      a,
      'A81001',
      ndjson([patient('y', x), first, readEntry('y-o2', 'y', '9Nu4')]),
    );
    expect(res.body.objections).toBe(1);
    expect(await active(x)).toBe(true);
  });
});
