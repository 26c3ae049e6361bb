import type { TestApp } from '@custodian/testing';
import { nhsNumber, patient } from './support/fhir';
import { activeObjection, nextSecond, upload } from './support/practice';
import {
  isoDaysAgo,
  practiceApp,
  readEntry,
  receivedDaysAgo,
  withdrawThroughApi,
} from './support/objection-resend';
import { extractorRun } from './support/extractor-run';

const extract = extractorRun('review23-noid-');

/**
 * Review 23, finding 2 (the opposite harm: duplicated history, a withdrawal never honoured). The
 * centre tells a re-sent registration read at the time received by its resource id (objection-key.ts;
 * SPEC §2 "idempotent by patient + resource id"), and keeps none for an entry whose id is not a FHIR
 * id (fhir.ts: `id: validId ? objectionKey(r) : ''`, staged as NULL). The extractor writes an
 * objection's id only where the source's is an R4 id (objection-canonical.ts `base`; r4-required.ts
 * deletes any other) — and derives nothing otherwise, although its split entries and the entries it
 * writes undated all get ids made from the source's, "so that its output re-sent adds nothing
 * either" (docs/PRACTICES-AND-EXTRACTS.md). A practice system whose ids are not R4 ids (an
 * underscore, more than 64 characters) therefore sends, every night, an undated registration the
 * centre adds again at that night's time: the history grows by one entry per run, and any
 * withdrawal — the API's, or one dated in the record — is beaten by the next run and never honoured.
 */
describe('review 23: an objection whose source id is not an R4 id, through the extractor', () => {
  let t: TestApp;
  let a: { Authorization: string };
  beforeAll(async () => {
    ({ t, a } = await practiceApp());
  });
  afterAll(() => t?.close());

  const history = async (n: string) =>
    (await t.sql.query(`SELECT action FROM objection_events WHERE nhs_number = $1 ORDER BY id`, [n])).rows;

  it.each([
    ['an underscore', 1, (p: string) => `${p}_obj_1`],
    ['65 characters', 2, (p: string) => `${p}-`.padEnd(65, 'x')],
    ['an R4 id (control)', 3, (p: string) => `${p}-obj-1`],
  ])('source id with %s: the same export extracted again adds nothing', async (_, seed, idOf) => {
    const x = nhsNumber(923_200 + (seed as number));
    const p = `r23n${seed}`;
    const exportLines = [patient(p, x), readEntry((idOf as (p: string) => string)(p), p, '9Nu4')];
    const first = await upload(t, a, 'A81001', (await extract(exportLines)).text);
    expect(first.status).toBe(201);
    expect(first.body.objections).toBe(1);
    await nextSecond();
    // The next night: the practice's record is unchanged.
    const second = await upload(t, a, 'A81001', (await extract(exportLines)).text);
    expect(second.status).toBe(201);
    expect(second.body.objections).toBe(0);
    expect(await history(x)).toHaveLength(1);
  });

  it('source id with an underscore: a withdrawal through the API is not undone by the next night', async () => {
    const x = nhsNumber(923_211);
    const p = 'r23n11';
    const exportLines = [patient(p, x), readEntry(`${p}_obj_1`, p, '9Nu4')];
    expect((await upload(t, a, 'A81001', (await extract(exportLines)).text)).status).toBe(201);
    await nextSecond();
    await withdrawThroughApi(t, a, x);
    expect(await activeObjection(t, x, 'type2')).toBe(false);
    await nextSecond();
    // As objection-resend-undated.e2e-spec.ts has it for an entry with an id: not brought back.
    expect((await upload(t, a, 'A81001', (await extract(exportLines)).text)).status).toBe(201);
    expect(await activeObjection(t, x, 'type2')).toBe(false);
  });

  it('source id with an underscore: a withdrawal the record holds, dated after the first receipt, lifts it', async () => {
    const x = nhsNumber(923_212);
    const p = 'r23n12';
    const registration = readEntry(`${p}_obj_1`, p, '9Nu4');
    expect((await upload(t, a, 'A81001', (await extract([patient(p, x), registration])).text)).status).toBe(
      201,
    );
    await receivedDaysAgo(t, x, 5);
    const withdrawal = readEntry(`${p}_wd_1`, p, '9Nu5', { effectiveDateTime: isoDaysAgo(3) });
    const out = await extract([patient(p, x), registration, withdrawal]);
    expect((await upload(t, a, 'A81001', out.text)).status).toBe(201);
    // With an R4 id this is lifted (review-22's test, step 2: "as designed: lifted").
    expect(await activeObjection(t, x, 'type2')).toBe(false);
  });
});
