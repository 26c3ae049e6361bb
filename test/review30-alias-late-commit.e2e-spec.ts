import { Client } from 'pg';
import { createTestApp, TestApp } from '@custodian/testing';
import { ReleaseEngine } from '@custodian/release';
import { condition, ndjson, nhsNumber, patient } from './support/fhir';
import { practiceReady, upload } from './support/practice';
import { gpRowsReleasedFor } from './release-helpers';

/**
 * Review 30, finding 3 (SPEC §5 step 2: objections "from the register as of the release's start (the
 * snapshot time is recorded; the data read is of the same instant, on every attempt, retries
 * included)"). An intake records its aliases at its transaction's start (`nhs_number_aliases.recorded_at
 * DEFAULT now()`) and commits later — minutes for a large extract. Begun before a release's snapshot
 * and committed after it, the alias is dated before the snapshot but not in the data the engine and
 * the verifier read. For objection events the engine gives such an attempt up and takes a new
 * snapshot (verify.ts, `objectionsRecordedBy`); aliases are not counted there, so the release
 * completes with the objector's record, and a later reading of the register "as of" the same instant
 * (an audit, the verifier run live) says the person was an objector then. Here the intake is stood in
 * for by a transaction that records the pair and commits after the snapshot, as
 * release-verifier.e2e-spec.ts does for an objection.
 */
describe('review30: an alias begun before the release snapshot and committed after it', () => {
  let t: TestApp;
  let a: { Authorization: string };
  beforeAll(async () => {
    t = await createTestApp();
    const admin = (await t.as('admin')).auth;
    a = await practiceReady(t, admin, 'A81001');
  });
  afterAll(() => t?.close());

  it('the record is released although the alias to an objector is dated before the snapshot', async () => {
    const [x, v] = [nhsNumber(30_301), nhsNumber(30_302)];
    // X held for A; the patient objected (Type 2) under V, their other number, long before.
    await upload(t, a, 'A81001', ndjson([patient('x', x), condition('x-c', 'x')])).expect(201);
    await t.http
      .post('/api/objections')
      .set(a)
      .send({ nhsNumber: v, type: 'type2', action: 'register' })
      .expect(201);
    const intake = new Client({ connectionString: t.db.url });
    await intake.connect();
    const engine = t.app.get(ReleaseEngine) as unknown as {
      buildShards: (...a: unknown[]) => Promise<unknown>;
    };
    const original = engine.buildShards;
    let committed = false;
    engine.buildShards = async function (this: unknown, ...args: unknown[]) {
      // after the first attempt's snapshot, before its files are written and verified
      if (!committed) await intake.query('COMMIT');
      committed = true;
      return original.apply(this, args);
    };
    try {
      // A's next extract, now giving V beside X: its transaction starts before the release.
      await intake.query('BEGIN');
      await intake.query(
        `INSERT INTO nhs_number_aliases (nhs_number, alias, practice_ods, record_id)
         VALUES ($1, $2, 'A81001', 'x'), ($2, $1, 'A81001', 'x')`,
        [x, v],
      );
      const released = await gpRowsReleasedFor(t, x);
      const { rows } = await t.sql.query(
        `SELECT r.snapshot_at > a.recorded_at AS alias_before_snapshot
           FROM releases r, nhs_number_aliases a WHERE a.nhs_number = $1 ORDER BY r.created_at DESC LIMIT 1`,
        [x],
      );
      // Failed before aliases were counted with the objections recorded by the snapshot: { …, released: 1 }.
      expect({ aliasBeforeSnapshot: rows[0].alias_before_snapshot, released }).toEqual({
        aliasBeforeSnapshot: true,
        released: 0,
      });
    } finally {
      engine.buildShards = original;
      await intake.query('ROLLBACK').catch(() => undefined);
      await intake.end();
    }
  });
});
