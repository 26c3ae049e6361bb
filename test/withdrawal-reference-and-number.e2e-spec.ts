import { createTestApp, TestApp } from '@custodian/testing';
import { condition, NHS, ndjson, nhsNumber, patient, READ } from './support/fhir';
import { activeObjection, nextSecond, practiceReady, upload } from './support/practice';

/**
 * A withdrawal that names a Patient by reference and, beside it, an NHS number (SPEC §2: "fail
 * closed"). Where the number is another person's, the entry names two persons: the practice-side
 * extractor does not apply it, and the centre applied it to the reference alone on a raw upload —
 * lifting an objection of a patient the entry may not be about (closing note of 2026-12-07, left).
 * The centre now refuses it too; where the number is the referenced Patient's, it applies.
 */
const obs = (id: string, subject: Record<string, unknown>, codes: string[], date: string) => ({
  resourceType: 'Observation',
  id,
  status: 'final',
  subject,
  code: { coding: codes.map((code) => ({ system: READ, code })) },
  effectiveDateTime: date,
});

describe('a withdrawal naming a reference and an NHS number', () => {
  let t: TestApp;
  let a: { Authorization: string };
  beforeAll(async () => {
    t = await createTestApp();
    a = await practiceReady(t, (await t.as('admin')).auth, 'A81001');
  });
  afterAll(() => t?.close());

  const active = (n: string, type: 'type1' | 'type2') => activeObjection(t, n, type);
  const register = (nhsNumber: string, type: 'type1' | 'type2') =>
    t.http.post('/api/objections').set(a).send({ nhsNumber, type, action: 'register' }).expect(201);
  /** An instant a second after the objections made so far, and before the upload. */
  const later = async () => {
    await nextSecond();
    await nextSecond();
    const at = new Date(Date.now() - 500).toISOString().slice(0, 19) + 'Z';
    await nextSecond();
    return at;
  };

  it("is not applied where the number is another patient's (the reference in the extract)", async () => {
    const [x, y] = [nhsNumber(931_001), nhsNumber(931_002)];
    await register(x, 'type2');
    const at = await later();
    const res = await upload(
      t,
      a,
      'A81001',
      ndjson([
        patient('wx', x),
        patient('wy', y),
        condition('wx-c', 'wx'),
        obs('w-w', { reference: 'Patient/wx', identifier: { system: NHS, value: y } }, ['9Nu5'], at),
      ]),
    );
    expect(res.status).toBe(201);
    expect(await active(x, 'type2')).toBe(true);
    expect(res.body.rejected).toContainEqual({ line: 4, reason: expect.stringMatching(/two patients/) });
  });

  it("is not applied where the referenced Patient is held from an earlier extract and the number is another's", async () => {
    const [x, y] = [nhsNumber(931_011), nhsNumber(931_012)];
    expect((await upload(t, a, 'A81001', ndjson([patient('hx', x), condition('hx-c', 'hx')]))).status).toBe(
      201,
    );
    await register(x, 'type2');
    const at = await later();
    const res = await upload(
      t,
      a,
      'A81001',
      ndjson([obs('h-w', { reference: 'Patient/hx', identifier: { system: NHS, value: y } }, ['9Nu5'], at)]),
    );
    expect(res.status).toBe(201);
    expect(await active(x, 'type2')).toBe(true);
    expect(await active(y, 'type2')).toBe(false);
  });

  it('of an entry that also registers, keeps the registration for both and applies no withdrawal', async () => {
    const [x, y] = [nhsNumber(931_021), nhsNumber(931_022)];
    await register(x, 'type1');
    const at = await later();
    const res = await upload(
      t,
      a,
      'A81001',
      ndjson([
        patient('mx', x),
        patient('my', y),
        // registers Type 2 (9Nu4) and withdraws Type 1 (9Nu1), dated to the second
        obs('m-w', { reference: 'Patient/mx', identifier: { system: NHS, value: y } }, ['9Nu4', '9Nu1'], at),
      ]),
    );
    expect(res.status).toBe(201);
    expect(await active(x, 'type1')).toBe(true);
    expect(await active(x, 'type2')).toBe(true);
    expect(await active(y, 'type2')).toBe(true);
  });

  it("applies where the number is the referenced Patient's own (control)", async () => {
    const x = nhsNumber(931_031);
    await register(x, 'type2');
    const at = await later();
    const res = await upload(
      t,
      a,
      'A81001',
      ndjson([
        patient('cx', x),
        condition('cx-c', 'cx'),
        obs('c-w', { reference: 'Patient/cx', identifier: { system: NHS, value: x } }, ['9Nu5'], at),
      ]),
    );
    expect(res.status).toBe(201);
    expect(res.body.rejected).toEqual([]);
    expect(await active(x, 'type2')).toBe(false);
  });
});
