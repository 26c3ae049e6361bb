import { Client } from 'pg';
import { createTestApp, TestApp } from '@custodian/testing';
import { ReleaseEngine } from '@custodian/release';
import { condition, ndjson, nhsNumber, objection, patient } from './support/fhir';
import { activeObjection, practiceReady, upload } from './support/practice';
import { gpRowsReleasedFor } from './release-helpers';

/**
 * Probe 33 (SPEC §5 step 2: objections "from the register as of the release's start … the data read
 * is of the same instant, on every attempt"). A practice's next extract that no longer carries a
 * withdrawal retracts it (`objection_events.retracted_at = now()`, the intake transaction's start),
 * which puts the Type 2 objection back in force. Begun before a release's snapshot and committed
 * after it, the retraction is dated before the snapshot but is not in the data the engine and the
 * verifier read: the engine's late-commit guard (verify.ts) counted the events and aliases recorded
 * by the snapshot's instant — a retraction is an UPDATE, which no count sees — so the release
 * completed with the objector, and the register read "as of" the same instant afterwards says the
 * person objected then. Here the intake is stood in for by a transaction that makes the retraction
 * and commits after the snapshot, as review30-alias-late-commit does for an alias.
 */
describe('probe 33: a withdrawal retracted before the release snapshot and committed after it', () => {
  let t: TestApp;
  let a: { Authorization: string };
  beforeAll(async () => {
    t = await createTestApp();
    const admin = (await t.as('admin')).auth;
    a = await practiceReady(t, admin, 'A81001');
  });
  afterAll(() => t?.close());

  it('the objector is not released', async () => {
    const x = nhsNumber(33_101);
    // Objected (Type 2) in 2014, withdrawn in 2015: released today.
    await upload(
      t,
      a,
      'A81001',
      ndjson([
        patient('x', x),
        condition('x-c', 'x'),
        objection('x-o', 'x', '9Nu4', '2014-03-01T00:00:00Z'),
        objection('x-w', 'x', '9Nu5', '2015-03-01T00:00:00Z'),
      ]),
    ).expect(201);
    expect(await activeObjection(t, x, 'type2')).toBe(false);
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
      // A's next extract, without the withdrawal (entered in error): its transaction starts before
      // the release and retracts the withdrawal at its start.
      await intake.query('BEGIN');
      await intake.query(
        `UPDATE objection_events SET retracted_at = now()
          WHERE nhs_number = $1 AND action = 'withdraw' AND source = 'extract'`,
        [x],
      );
      const released = await gpRowsReleasedFor(t, x);
      const { rows } = await t.sql.query(
        `SELECT r.snapshot_at > e.retracted_at AS retracted_before_snapshot,
                EXISTS (SELECT 1 FROM objections_as_of(r.snapshot_at) o WHERE o.nhs_number = $1 AND o.type = 'type2') AS objector_then
           FROM releases r, objection_events e
          WHERE e.nhs_number = $1 AND e.action = 'withdraw' ORDER BY r.created_at DESC LIMIT 1`,
        [x],
      );
      // Failed before the guard counted retractions: { …, objectorThen: true, released: 1 }.
      expect({
        retractedBeforeSnapshot: rows[0].retracted_before_snapshot,
        objectorThen: rows[0].objector_then,
        released,
      }).toEqual({ retractedBeforeSnapshot: true, objectorThen: true, released: 0 });
    } finally {
      engine.buildShards = original;
      await intake.query('ROLLBACK').catch(() => undefined);
      await intake.end();
    }
  });
});
