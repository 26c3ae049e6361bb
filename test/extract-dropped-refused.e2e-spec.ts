import { createTestApp, TestApp } from '@custodian/testing';
import { condition, ndjson, nhsNumber, patient } from './support/fhir';
import { practiceReady, upload } from './support/practice';

/**
 * review-13: the fields a refused line dropped are not counted (16ffb47) — but only lines refused
 * while parsing were left out. A line refused later, by the merge's SQL (a later line with the same
 * NHS number, an event whose Patient is not in the extract), and a clinical line recorded in error
 * (not stored: a retraction) still count their removed fields and their ignored elements.
 */
describe('extract report: fields of lines not stored', () => {
  let t: TestApp;
  let auth: { Authorization: string };
  beforeAll(async () => {
    t = await createTestApp();
    auth = await practiceReady(t, (await t.as('admin')).auth, 'A81001');
  });
  afterAll(() => t?.close());

  it('a Patient refused for a repeated NHS number adds no dropped field', async () => {
    const n = nhsNumber(515_151);
    const res = await upload(
      t,
      auth,
      'A81001',
      ndjson([patient('p1', n, { name: [{ family: 'X' }] }), patient('p2', n, { name: [{ family: 'Y' }] })]),
    ).expect(201);
    expect(res.body.patients).toBe(1);
    expect(res.body.rejectedCount).toBe(1);
    expect(res.body.dropped.byField).toEqual({ name: 1 });
  });

  it('an event whose Patient is not there adds no dropped field nor ignored element', async () => {
    const res = await upload(
      t,
      auth,
      'A81001',
      ndjson([condition('c9', 'nobody', { recordedDate: '2012-05-03', note: [{ text: 'free text' }] })]),
    ).expect(201);
    expect(res.body.rejectedCount).toBe(1);
    expect(res.body.dropped.byField).toEqual({});
    expect(res.body.ignored).toEqual({});
  });

  it('a refused line whose dropped keys are odd (NUL, a lone surrogate, __proto__) is taken back out without harm', async () => {
    const n = nhsNumber(515_161);
    const odd = { '\u0000x': 1, '\ud800': 2, ['__proto__']: 3, 'a\tb\\c': 4 };
    const res = await upload(
      t,
      auth,
      'A81001',
      ndjson([
        // The earlier of two lines with one NHS number is the one refused.
        patient('p3', n, { name: [{ family: 'X' }], ...JSON.parse(JSON.stringify(odd)) }),
        patient('p4', n, { name: [{ family: 'Y' }] }),
      ]),
    ).expect(201);
    expect(res.body.rejectedCount).toBe(1);
    expect(res.body.dropped.byField).toEqual({ name: 1 });
  });

  it('odd keys on a stored line are counted under one name (a NUL in one made the upload a 500)', async () => {
    const res = await upload(
      t,
      auth,
      'A81001',
      ndjson([
        patient('p5', nhsNumber(515_171), { '\u0000x': 1, ['a'.repeat(100)]: 2, 'b-c': 3, unknown1: 4 }),
      ]),
    ).expect(201);
    expect(res.body.dropped.byField).toEqual({ '(a key that is no element name)': 3, unknown1: 1 });
    expect(res.body.dropped.fields).toBe(4);
  });
});
