import { createTestApp, TestApp } from '@custodian/testing';
import { download } from './release-helpers';
import { completedRelease, screenedAmendment, supersededReleaseSetUp } from './support/amendment-releases';
import type { As } from './support/reviewers';

/**
 * An older note's item: an amendment that changes only the agreement's term (a shorter one, which a
 * release officer approves alone, or a longer one, which the panel decides) destroyed every release
 * of the bid, as an amendment of its content or recipients must (probe 23). The files' content and
 * recipients are still exactly what the agreement in force covers: the researcher lost them and the
 * centre had to release again. A term-only amendment now keeps them (`agreements.releases_from`);
 * any other change still supersedes them, also after a term-only one. Failed before (409 on the
 * download, a destruction record).
 */
describe('an amendment of the term alone keeps the releases made before it', () => {
  let t: TestApp;
  let researcher: As;
  let officer: As;
  let releaser: As;
  let panel: As[];

  beforeAll(async () => {
    t = await createTestApp({ PANEL_QUORUM: '3' });
    ({ researcher, officer, releaser, panel } = await supersededReleaseSetUp(t));
  });
  afterAll(() => t?.close());

  const accept = (bidId: string) =>
    t.http.post(`/api/bids/${bidId}/agreement/accept`).set(researcher.auth).expect(200);
  const destroyed = async (releaseId: string) =>
    (await t.sql.query(`SELECT destroyed_at IS NOT NULL AS gone FROM releases WHERE id = $1`, [releaseId]))
      .rows[0].gone as boolean;
  /** Waits for the bid's queued destruction jobs to have run (none left waiting). */
  const settled = async () => {
    for (let i = 0; i < 200; i++) {
      const { rows } = await t.sql.query(
        `SELECT count(*)::int AS n FROM pgboss.job WHERE name LIKE 'release.destroy%' AND state IN ('created','retry','active')`,
      );
      if (rows[0].n === 0) return;
      await new Promise((ok) => setTimeout(ok, 50));
    }
    throw new Error('destruction jobs still waiting');
  };

  it('a shorter term (the officer alone), then a longer one (the panel): the v1 files stay; a field change then supersedes them', async () => {
    const bidId = (await t.factory.bid('active', { researcher, officer, panel })).id;
    const v1 = await completedRelease(t, bidId, releaser);
    expect((await download(t, researcher.auth, v1, 'gp.csv.gz')).status).toBe(200);

    // v2: a shorter term, narrowing.
    const shorter = await screenedAmendment(
      t,
      bidId,
      { researcher, officer },
      { reason: 'The study ends sooner', durationMonths: 6 },
      'approve',
    );
    expect(shorter).toMatchObject({ version: 2, scope: 'narrowing' });
    expect((await accept(bidId)).body).toMatchObject({ version: 2, agreement: { status: 'active' } });
    await settled();
    expect(await destroyed(v1)).toBe(false);
    expect((await download(t, researcher.auth, v1, 'gp.csv.gz')).status).toBe(200);
    const v2 = await completedRelease(t, bidId, releaser);

    // v3: a longer term, widening: the panel decides.
    await t.http
      .post(`/api/bids/${bidId}/amendments`)
      .set(researcher.auth)
      .send({ reason: 'Follow-up for another year', durationMonths: 18 })
      .expect(201);
    await t.http.post(`/api/bids/${bidId}/amendments/3/submit`).set(researcher.auth).expect(200);
    await t.http
      .post(`/api/bids/${bidId}/amendments/3/screen`)
      .set(officer.auth)
      .send({ outcome: 'accept', remarks: 'a longer term' })
      .expect(200);
    for (const p of panel)
      await t.http
        .post(`/api/bids/${bidId}/amendments/3/votes`)
        .set(p.auth)
        .send({ decision: 'approve', conflictOfInterest: false })
        .expect(201);
    await accept(bidId);
    await settled();
    for (const id of [v1, v2]) {
      expect(await destroyed(id)).toBe(false);
      expect((await download(t, researcher.auth, id, 'gp.csv.gz')).status).toBe(200);
    }

    // v4: a field taken off (narrowing): every earlier release goes, the term-only ones' included.
    await t.http
      .post(`/api/bids/${bidId}/amendments`)
      .set(researcher.auth)
      .send({ reason: 'No dates of birth', datasets: [{ dataset: 'gp', fields: ['nhs_number', 'code'] }] })
      .expect(201);
    await t.http.post(`/api/bids/${bidId}/amendments/4/submit`).set(researcher.auth).expect(200);
    await t.http
      .post(`/api/bids/${bidId}/amendments/4/screen`)
      .set(officer.auth)
      .send({ outcome: 'approve', remarks: 'narrows' })
      .expect(200);
    await accept(bidId);
    await settled();
    for (const id of [v1, v2]) {
      expect((await download(t, researcher.auth, id, 'gp.csv.gz')).status).not.toBe(200);
      expect(await destroyed(id)).toBe(true);
    }
  });
});
