import { existsSync } from 'node:fs';
import { createTestApp, TestApp } from '@custodian/testing';
import { ReleaseEngine, ReleaseService } from '@custodian/release';
import { MAX_ORPHANED_ATTEMPTS } from '../libs/release/src/engine/context';
import { ensureActiveBid, seedGpPopulation, seedPractice, spec } from './release-helpers';

/**
 * A release whose every attempt takes its worker down (the process runs out of memory, or is
 * killed) never reaches the engine's own failure handling: the worker's restart finds it `running`
 * with no builder and queues it again (recoverOrphans). Without a limit it was tried for ever, each
 * attempt stopping the worker and every job it ran. The attempt after MAX_ORPHANED_ATTEMPTS (25: more
 * than the twenty kills release-crash-20 survives) fails it instead.
 */
describe('a release that stops its worker every time', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ RUN_WORKER: 'false' });
  });
  afterAll(() => t?.close());

  it(`is failed (RELEASE_INTERNAL_ERROR) at the attempt after the ${MAX_ORPHANED_ATTEMPTS}th, builds nothing, and says so to officers`, async () => {
    await seedPractice(t.sql);
    await seedGpPopulation(t.sql, 50, 3);
    const officer = await t.as('release_officer');
    const researcher = await t.as('researcher');
    const s = spec({
      tier: 'pseudonymised',
      datasets: [{ dataset: 'gp', fields: ['nhs_number', 'code'] }],
      recipients: [researcher.user.id],
      requestedBy: officer.user.id,
    });
    await ensureActiveBid(t, s);
    const { id } = await t.app.get(ReleaseService).request(s, officer.user as never);
    // As the orphan check finds it after the worker died during each of the allowed attempts.
    await t.sql.query(`UPDATE releases SET state = 'running', attempts = $2 WHERE id = $1`, [
      id,
      MAX_ORPHANED_ATTEMPTS,
    ]);
    const engine = t.app.get(ReleaseEngine);
    await engine.run(id);
    const { rows } = await t.sql.query(
      `SELECT state, failure_reason, attempts, excluded #>> '{failure,reason}' AS staff FROM releases WHERE id = $1`,
      [id],
    );
    expect(rows[0]).toMatchObject({ state: 'failed', attempts: MAX_ORPHANED_ATTEMPTS + 1 });
    expect(rows[0].failure_reason).toMatch(/^RELEASE_INTERNAL_ERROR: /);
    // Officers read why (staff only); recipients read the general reason of an internal error.
    expect(rows[0].staff).toMatch(/attempts stopped its worker/);
    expect(rows[0].failure_reason).not.toMatch(/attempts/);
    expect(existsSync(engine.dirOf(id))).toBe(false);
    const { rows: audit } = await t.sql.query(
      `SELECT details FROM audit_log WHERE action = 'release.failed' AND subject_id = $1`,
      [id],
    );
    expect(audit).toHaveLength(1);
    // A fresh attempt count (state queued) is not affected: another request of the bid completes.
    const again = await t.app.get(ReleaseService).request(s, officer.user as never);
    await engine.run(again.id);
    const { rows: ok } = await t.sql.query(`SELECT state FROM releases WHERE id = $1`, [again.id]);
    expect(ok[0].state).toBe('completed');
  });
});
