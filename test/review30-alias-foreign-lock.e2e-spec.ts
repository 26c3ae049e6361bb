import { createTestApp, TestApp } from '@custodian/testing';
import { condition, NHS, ndjson, nhsNumber, patient } from './support/fhir';
import { nextSecond, practiceReady, upload } from './support/practice';
import { gpRowsReleasedFor } from './release-helpers';

/**
 * Review 30, finding 2 (SPEC §2: "a practice may withdraw only an objection it recorded or one of a
 * patient currently registered with it"). `nhs_number_aliases` takes any practice's Patient line as
 * proof that its numbers are one person's, for every practice, for good (never removed, not even when
 * the practice's next full extract no longer carries the pair). A practice that sends its own record
 * [X, V] — V another practice's patient — and registers a Type 2 objection on X (any practice may)
 * takes V out of every release. V's own, current practice cannot lift it: there is no objection on V
 * to withdraw (404), the register shows none for V, and the asserting practice correcting its record
 * changes nothing. The same objection registered on V directly is one V's current practice withdraws.
 *
 * Fixed in part: a pair stops counting when the practice's next extract carries the record without it
 * (`retracted_at`). While A's record gives V beside X, V stays excluded and B has nothing to withdraw:
 * the centre cannot tell a wrong second number from a right one, and fails closed (docs).
 */
describe('review30: an alias another practice asserted', () => {
  let t: TestApp;
  let a: { Authorization: string };
  let b: { Authorization: string };
  let seed = 30_200;
  beforeAll(async () => {
    t = await createTestApp();
    const admin = (await t.as('admin')).auth;
    a = await practiceReady(t, admin, 'A81001');
    b = await practiceReady(t, admin, 'B82002');
  });
  afterAll(() => t?.close());

  /** The alias pairs the last extract of A81001 recorded and stopped, as its audit entry says. */
  const aliasPairsAudited = async () => {
    const {
      rows: [row],
    }: { rows: { pairs: unknown; text: string }[] } = await t.sql.query(
      `SELECT details -> 'aliasPairs' AS pairs, details::text AS text FROM audit_log
        WHERE action = 'extract.upload' AND details ->> 'practiceOds' = 'A81001' ORDER BY id DESC LIMIT 1`,
    );
    expect(row.text).not.toMatch(/\d{10}/);
    return row.pairs;
  };

  it('control: a Type 2 registered by A on B’s patient directly is withdrawn by B, and B’s patient is released', async () => {
    const v = nhsNumber(seed++);
    await upload(t, b, 'B82002', ndjson([patient('v', v, {}, 'B82002'), condition('v-c', 'v')])).expect(201);
    await t.http
      .post('/api/objections')
      .set(a)
      .send({ nhsNumber: v, type: 'type2', action: 'register' })
      .expect(201);
    await nextSecond();
    await t.http
      .post('/api/objections')
      .set(b)
      .send({ nhsNumber: v, type: 'type2', action: 'withdraw' })
      .expect(201);
    expect(await gpRowsReleasedFor(t, v)).toBe(1);
  });

  it('A sends [X, V] and objects for X: V is excluded while A’s record gives V beside X, released once A corrects it', async () => {
    const [x, v] = [nhsNumber(seed++), nhsNumber(seed++)];
    await upload(t, b, 'B82002', ndjson([patient('v', v, {}, 'B82002'), condition('v-c', 'v')])).expect(201);
    await upload(
      t,
      a,
      'A81001',
      ndjson([
        patient('x', x, {
          identifier: [
            { system: NHS, value: x },
            { system: NHS, value: v },
          ],
        }),
      ]),
    ).expect(201);
    // The pair is on the audit trail with the extract that gave it (counts, both ways; no number).
    expect(await aliasPairsAudited()).toEqual({ recorded: 2, retracted: 0 });
    await t.http
      .post('/api/objections')
      .set(a)
      .send({ nhsNumber: x, type: 'type2', action: 'register' })
      .expect(201);
    // While A's record says X and V are one person, V is excluded (fail closed); B holds no
    // objection on V to withdraw (404, as for any number with none): the record is A's to correct.
    expect(await gpRowsReleasedFor(t, v)).toBe(0);
    await nextSecond();
    await t.http
      .post('/api/objections')
      .set(b)
      .send({ nhsNumber: v, type: 'type2', action: 'withdraw' })
      .expect(404);
    // A's next full extract no longer gives V beside X (a typo corrected, or the claim dropped): the
    // pair stops counting. Before (review-30): kept for good, V excluded from every release.
    await upload(t, a, 'A81001', ndjson([patient('x', x)])).expect(201);
    expect(await aliasPairsAudited()).toEqual({ recorded: 0, retracted: 2 });
    expect(await gpRowsReleasedFor(t, v)).toBe(1);
    expect(await gpRowsReleasedFor(t, x)).toBe(0);
  });
});
