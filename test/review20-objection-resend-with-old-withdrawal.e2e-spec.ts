import type { TestApp } from '@custodian/testing';
import { ndjson, nhsNumber, patient } from './support/fhir';
import { nextSecond, upload } from './support/practice';
import { practiceApp, readEntry } from './support/objection-resend';

/**
 * Review 20, finding (idempotency, low). cbb0e9a says an undated registration "joins the history
 * once however often the extract is re-sent", but it is added again on every re-send whenever the
 * extract carries ANY withdrawal of that type for the patient — even one years older than the
 * registration already held, which cannot cancel it. A record with the common history "withdrew in
 * 2021, objected again (no date)" grows the history by one registration per upload. SPEC §2:
 * "Re-sending the same extract does not duplicate anything".
 */
describe('review 20: the same extract re-sent, its record holding an old withdrawal', () => {
  let t: TestApp;
  let a: { Authorization: string };
  beforeAll(async () => {
    ({ t, a } = await practiceApp());
  });
  afterAll(() => t?.close());

  it('adds nothing the second and third time', async () => {
    const x = nhsNumber(953_001);
    const body = ndjson([
      patient('q', x),
      readEntry('q-w', 'q', '9Nu5', { effectiveDateTime: '2021-03-01T10:00:00Z' }),
      readEntry('q-o', 'q', '9Nu4'),
    ]);
    const first = await upload(t, a, 'A81001', body);
    expect(first.status).toBe(201);
    const counts: number[] = [first.body.objections];
    for (let i = 0; i < 2; i++) {
      await nextSecond();
      const again = await upload(t, a, 'A81001', body);
      expect(again.status).toBe(201);
      counts.push(again.body.objections);
    }
    const { rows } = await t.sql.query(
      `SELECT action, count(*)::int AS n FROM objection_events WHERE nhs_number = $1 GROUP BY action ORDER BY action`,
      [x],
    );
    expect({ added: counts, history: rows }).toEqual({
      added: [2, 0, 0],
      history: [
        { action: 'register', n: 1 },
        { action: 'withdraw', n: 1 },
      ],
    });
  });
});
