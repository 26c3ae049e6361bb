import { existsSync, readdirSync } from 'node:fs';
import { getDataSourceToken } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { ReleaseEngine } from '@custodian/release';
import { createTestApp, TestApp } from '@custodian/testing';
import { download } from './release-helpers';
import { screenedAmendment, supersededReleaseSetUp } from './support/amendment-releases';
import type { As } from './support/reviewers';

/**
 * Review 22, finding: a release that is *running* when an amendment comes into force. Commit 00cbbe9
 * enqueues `release.destroy` (superseded, beforeVersion) at the amendment's acceptance. The destroy
 * job fails a *queued* release ("the agreement ended before the release ran"), but a *running* one
 * only gets downloadable = false, its folder removed and destroyed_at set; the engine goes on (its
 * build folder gone, it retries) and `recordCompleted` only asks that the bid be `active` — which an
 * amendment leaves it. So the release completes under the superseded terms *after* its destruction
 * record: the recipient the amendment took off is sent a "release ready" notice, the public register
 * gains a line for it, and its files lie in DATA_DIR with destroyed_at already set — no later
 * destruction (revocation, expiry: `WHERE destroyed_at IS NULL`) ever removes them (SPEC §5: "the
 * release files are deleted with a destruction record").
 *
 * The engine is held in its preparation by a lock on `gp_events` (its snapshot taken, state running)
 * while the amendment is accepted and the destroy job runs.
 */
describe('review 22: a release running when an amendment comes into force', () => {
  let t: TestApp;
  let researcher: As;
  let colleague: As;
  let officer: As;
  let releaser: As;
  let panel: As[];

  beforeAll(async () => {
    t = await createTestApp({ PANEL_QUORUM: '3' });
    ({ researcher, colleague, officer, releaser, panel } = await supersededReleaseSetUp(t));
  });
  afterAll(() => t?.close());

  const until = async (what: string, f: () => Promise<boolean>) => {
    for (let i = 0; i < 400; i++) {
      if (await f()) return;
      await new Promise((ok) => setTimeout(ok, 50));
    }
    throw new Error(`timed out waiting: ${what}`);
  };

  it('does not complete under the superseded terms, notify the removed recipient, or leave files', async () => {
    const bidId = (
      await t.factory.bid('active', {
        researcher,
        officer,
        panel,
        body: { recipients: [researcher.user.id, colleague.user.id] },
      })
    ).id;

    // Hold the engine in its preparation: its claim and snapshot done, its reads of gp_events wait.
    const hold = t.app.get<DataSource>(getDataSourceToken()).createQueryRunner();
    await hold.connect();
    const [{ pid }] = await hold.query('SELECT pg_backend_pid() AS pid');
    let releaseId: string;
    try {
      await hold.query('BEGIN');
      await hold.query('LOCK TABLE gp_events IN ACCESS EXCLUSIVE MODE');
      releaseId = (await t.http.post(`/api/bids/${bidId}/releases`).set(releaser.auth).expect(202)).body.id;
      await until('the release running and waiting on gp_events', async () => {
        const { rows } = await t.sql.query(
          `SELECT (SELECT state FROM releases WHERE id = $1) AS state,
                  (SELECT snapshot_at IS NOT NULL FROM releases WHERE id = $1) AS snap,
                  EXISTS (SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid <> $2) AS waiting`,
          [releaseId, pid],
        );
        return rows[0].state === 'running' && rows[0].snap && rows[0].waiting;
      });

      // The amendment (narrowing: the colleague taken off) comes into force meanwhile.
      await screenedAmendment(
        t,
        bidId,
        { researcher, officer },
        { reason: 'Our colleague has left the project', recipients: [researcher.user.id] },
        'approve',
      );
      await t.http.post(`/api/bids/${bidId}/agreement/accept`).set(researcher.auth).expect(200);
      // Its release.destroy job (superseded) runs while the release is still running.
      await until('the destroy job', async () => {
        const { rows } = await t.sql.query(`SELECT destroyed_at FROM releases WHERE id = $1`, [releaseId]);
        return rows[0].destroyed_at !== null;
      });
      await hold.query('COMMIT');
    } finally {
      await hold.query('ROLLBACK').catch(() => undefined);
      await hold.release();
    }

    await until('the release to finish', async () => {
      const { rows } = await t.sql.query(`SELECT state FROM releases WHERE id = $1`, [releaseId!]);
      return rows[0].state === 'completed' || rows[0].state === 'failed';
    });
    const { rows } = await t.sql.query(
      `SELECT r.state, r.destroyed_at IS NOT NULL AS destroyed,
              (SELECT count(*)::int FROM notifications n WHERE n.kind = 'release.ready' AND n.subject_id = r.id::text) AS ready,
              (SELECT count(*)::int FROM register_log l WHERE l.release_id::text = r.id::text) AS register
         FROM releases r WHERE r.id = $1`,
      [releaseId!],
    );
    const dir = t.app.get(ReleaseEngine).dirOf(releaseId!);
    const files = existsSync(dir) ? readdirSync(dir, { recursive: true }).map(String) : [];
    // Downloads are refused either way (the version check): what is wrong is what happened around it.
    expect((await download(t, colleague.auth, releaseId!, 'gp.csv.gz')).status).not.toBe(200);
    expect({ ...rows[0], files: files.filter((f) => f.endsWith('.gz') || f.endsWith('.json')) }).toEqual({
      state: 'failed', // as a queued one is: "the agreement ended before the release ran"
      destroyed: true,
      ready: 0, // the colleague the amendment took off is not told a release is ready for them
      register: 0,
      files: [], // nothing of a destroyed release left in DATA_DIR
    });
  }, 60_000);
});
