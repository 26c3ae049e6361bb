import { createTestApp, TestApp } from '@custodian/testing';
import { ndjson, nhsNumber, observation, patient } from './support/fhir';
import { extractorRun } from './support/extractor-run';
import { practiceReady, upload } from './support/practice';

/**
 * probe-22 #5 (outside tester, FHIR R4 semantics of the extract).
 *
 * `Quantity.comparator` is a modifier element in R4 ("<", "<=", ">=", ">": "modifies the
 * interpretation of the value significantly"). The extractor drops it and keeps the value, so
 * "< 5 mmol/L" leaves the practice as "5 mmol/L"; the centre, given the same line, stores "5 mmol/L"
 * as the event's value (the `value` field a release carries).
 */
describe('probe-22 #5: a value keeps its comparator', () => {
  const run = extractorRun('probe22-cmp-');

  it('#5 keeps the comparator of a value, or does not state the value (the extractor)', async () => {
    const n = nhsNumber(22_500);
    const { lines } = await run([
      patient('cmp-p', n),
      observation('cmp-lt', 'cmp-p', { valueQuantity: { value: 5, comparator: '<', unit: 'mmol/L' } }),
      observation('cmp-ge', 'cmp-p', { valueQuantity: { value: 90, comparator: '>=', unit: 'mL/min' } }),
    ]);
    const out = (id: string) =>
      lines.find((l) => l.id === id)?.valueQuantity as Record<string, unknown> | undefined;
    // Today: {"value":5,"unit":"mmol/L"} and {"value":90,"unit":"mL/min"}: "< 5" became "5".
    for (const [id, comparator] of [
      ['cmp-lt', '<'],
      ['cmp-ge', '>='],
    ] as const) {
      const q = out(id);
      if (q?.value !== undefined) expect(q.comparator, id).toBe(comparator);
    }
  });

  describe('#5 the centre', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp();
    });
    afterAll(() => t?.close());

    it('does not store "< 5 mmol/L" as the value "5 mmol/L"', async () => {
      const admin = (await t.as('admin')).auth;
      const practice = await practiceReady(t, admin, 'A81001');
      const n = nhsNumber(22_600);
      await upload(
        t,
        practice,
        'A81001',
        ndjson([
          patient('cmpc-p', n),
          observation('cmpc-lt', 'cmpc-p', { valueQuantity: { value: 5, comparator: '<', unit: 'mmol/L' } }),
        ]),
      ).expect(201);
      const { rows } = await t.sql.query(`SELECT value FROM gp_events WHERE resource_id = 'cmpc-lt'`);
      // Today: one row, value "5 mmol/L". Either the comparator is kept in the value, or no value.
      for (const r of rows as { value: string | null }[]) if (r.value !== null) expect(r.value).toMatch(/^</);
    });
  });
});
