import { createTestApp, TestApp } from '@custodian/testing';
import { condition, ndjson, nhsNumber, objection, patient } from './support/fhir';
import { practiceReady, upload } from './support/practice';
import { waitForLockWaiters } from './support/lock-waiters';

/**
 * Issue 29: a practice re-uploading its extract while another practice's extract carries a Type 1
 * objection for one of its patients (a patient who moved) deadlocked: the re-upload locked the
 * patient's registration and then the patient, the Type 1 deletion the patient and then (by
 * cascade) the registration. PostgreSQL killed one of them and the client got 500.
 *
 * The interleaving is forced with a row lock held by the test: the objection's deletion queues on
 * the patient first, the re-upload's merge second; releasing the lock lets both run into each
 * other. Both uploads must succeed and the objector must end with nothing held.
 */

describe('extract merges without deadlocks (issue 29)', () => {
  let t: TestApp;
  let p1: { Authorization: string };
  let p2: { Authorization: string };
  beforeAll(async () => {
    t = await createTestApp();
    const admin = await t.as('admin');
    p1 = await practiceReady(t, admin.auth, 'A81001');
    p2 = await practiceReady(t, admin.auth, 'B82002');
  });
  afterAll(() => t?.close());

  it('a re-upload and another practice’s Type 1 objection for a shared patient both succeed', async () => {
    const moved = nhsNumber(1);
    const extract = (postcode: string) =>
      ndjson(
        Array.from({ length: 300 }, (_, i) => {
          const id = `p${i}`;
          const nhs = i === 150 ? moved : nhsNumber(1000 + i);
          return [
            patient(id, nhs, i === 150 ? { address: [{ postalCode: postcode }] } : {}),
            condition(`c${i}`, id),
          ];
        }).flat(),
      );
    await upload(t, p1, 'A81001', extract('ls1 4ap')).expect(201);

    const blocker = await t.db.superuser();
    try {
      await blocker.query('BEGIN');
      await blocker.query(`SELECT 1 FROM patients WHERE nhs_number = $1 FOR UPDATE`, [moved]);

      // The practice the patient moved to sends their Type 1 objection (with their Patient record).
      const objecting = upload(
        t,
        p2,
        'B82002',
        ndjson([
          patient('new-1', moved, {}, 'B82002'),
          objection('obj-1', 'new-1', '9Nu0', new Date(Date.now() - 60_000).toISOString()),
        ]),
      ).then((r) => r);
      expect(await waitForLockWaiters(t.sql, 1)).toBeGreaterThanOrEqual(1);
      // The old practice re-sends its extract, the patient's postcode changed.
      const reupload = upload(t, p1, 'A81001', extract('ls2 7ab')).then((r) => r);
      expect(await waitForLockWaiters(t.sql, 2)).toBeGreaterThanOrEqual(2);
      await blocker.query('COMMIT');

      const [a, b] = await Promise.all([objecting, reupload]);
      expect({ objection: a.status, reupload: b.status }).toEqual({ objection: 201, reupload: 201 });
    } finally {
      await blocker.query('ROLLBACK').catch(() => undefined);
      await blocker.end();
    }
    const { rows } = await t.sql.query(
      `SELECT (SELECT count(*)::int FROM patients WHERE nhs_number = $1) AS held,
              (SELECT active FROM objection_register WHERE nhs_number = $1 AND type = 'type1') AS type1,
              (SELECT count(*)::int FROM patients) AS patients`,
      [moved],
    );
    expect(rows[0]).toEqual({ held: 0, type1: true, patients: 299 });
  });

  it('a merge PostgreSQL kills as a deadlock victim is run again: the client sees 201, never 500', async () => {
    const held = nhsNumber(2);
    const extract = (postcode: string) =>
      ndjson([
        patient('v1', held, { address: [{ postalCode: postcode }] }),
        condition('vc1', 'v1'),
        patient('v2', nhsNumber(3)),
      ]);
    await upload(t, p1, 'A81001', extract('ls1 4ap')).expect(201);
    const other = await t.db.superuser();
    try {
      // This session waits long before looking for deadlocks, so the upload's backend finds the
      // cycle and is the one PostgreSQL rolls back.
      await other.query(`SET deadlock_timeout = '20s'`);
      await other.query('BEGIN');
      await other.query(`SELECT 1 FROM patients WHERE nhs_number = $1 FOR UPDATE`, [held]);
      const reupload = upload(t, p1, 'A81001', extract('ls2 7ab')).then((r) => r);
      expect(await waitForLockWaiters(t.sql, 1)).toBeGreaterThanOrEqual(1);
      // The upload holds its practice's row lock while it waits for the patient: close the cycle.
      const closing = other.query(`SELECT 1 FROM practices WHERE ods_code = 'A81001' FOR UPDATE`);
      await closing;
      await other.query('COMMIT');
      const res = await reupload;
      expect(res.status).toBe(201);
    } finally {
      await other.query('ROLLBACK').catch(() => undefined);
      await other.end();
    }
    const { rows } = await t.sql.query(`SELECT postcode FROM patients WHERE nhs_number = $1`, [held]);
    expect(rows[0].postcode.replace(/\s/g, '')).toBe('LS27AB');
  });
});
