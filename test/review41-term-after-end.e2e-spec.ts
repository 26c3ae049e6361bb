import { createTestApp, TestApp } from '@custodian/testing';
import { download } from './release-helpers';
import { completedRelease, screenedAmendment, supersededReleaseSetUp } from './support/amendment-releases';
import type { As } from './support/reviewers';

/**
 * Review 41: an amendment of the term alone keeps the releases of the agreement in force
 * (`releases_from`, 39822cf). Its acceptance did not ask whether that agreement was still in date:
 * once the last day of its term was over (the end date is today) and before the expiry sweep (every
 * five minutes) moved the bid to `expired`, the applicant accepted an approved term amendment, the
 * lapsed agreement was replaced by one running from today, and the files of the ended agreement,
 * which downloads had stopped (SPEC §5: only while the agreement is in force; on its end they are
 * destroyed), were downloadable again and never destroyed. Failed before (200 on the acceptance,
 * then 200 on the download).
 */
describe('an amendment accepted after the agreement in force reached its end date', () => {
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

  it('is refused (409), the agreement stays ended and its files stay out of reach', async () => {
    const bidId = (await t.factory.bid('active', { researcher, officer, panel })).id;
    const v1 = await completedRelease(t, bidId, releaser);
    expect((await download(t, researcher.auth, v1, 'gp.csv.gz')).status).toBe(200);
    // A longer term (18 months against 12), which the panel approves.
    await screenedAmendment(
      t,
      bidId,
      { researcher, officer },
      { reason: 'Follow-up for another six months', durationMonths: 18 },
      'accept',
    );
    for (const p of panel)
      await t.http
        .post(`/api/bids/${bidId}/amendments/2/votes`)
        .set(p.auth)
        .send({ decision: 'approve', conflictOfInterest: false })
        .expect(201);
    // A year has gone by: the last day of the agreement in force is over (it ends on its end date,
    // today), and the expiry sweep has not yet run.
    await t.sql.query(
      `UPDATE agreements SET start_date = ((now() AT TIME ZONE 'UTC')::date - interval '12 months')::date,
                             end_date = (now() AT TIME ZONE 'UTC')::date
        WHERE bid_id = $1 AND status = 'active'`,
      [bidId],
    );
    expect((await download(t, researcher.auth, v1, 'gp.csv.gz')).status).toBe(409);

    const accepted = await t.http.post(`/api/bids/${bidId}/agreement/accept`).set(researcher.auth);
    expect(accepted.status).toBe(409);
    expect(accepted.body.code).toBe('AMENDMENT_TERM_ENDED');
    const { rows } = await t.sql.query(
      `SELECT version, status FROM agreements WHERE bid_id = $1 ORDER BY version`,
      [bidId],
    );
    expect(rows).toEqual([
      { version: 1, status: 'active' },
      { version: 2, status: 'offered' },
    ]);
    expect((await download(t, researcher.auth, v1, 'gp.csv.gz')).status).toBe(409);
  });
  it('nor is one approved then: the officer alone and the deciding vote are refused (409), nothing is offered', async () => {
    const bidId = (await t.factory.bid('active', { researcher, officer, panel })).id;
    const ended = () =>
      t.sql.query(
        `UPDATE agreements SET start_date = ((now() AT TIME ZONE 'UTC')::date - interval '12 months')::date,
                               end_date = (now() AT TIME ZONE 'UTC')::date
          WHERE bid_id = $1 AND status = 'active'`,
        [bidId],
      );
    // A narrowing amendment (a shorter term) that the officer would approve alone.
    await t.http
      .post(`/api/bids/${bidId}/amendments`)
      .set(researcher.auth)
      .send({ reason: 'The study ends sooner', durationMonths: 6 })
      .expect(201);
    await t.http.post(`/api/bids/${bidId}/amendments/2/submit`).set(researcher.auth).expect(200);
    await ended();
    const alone = await t.http
      .post(`/api/bids/${bidId}/amendments/2/screen`)
      .set(officer.auth)
      .send({ outcome: 'approve' });
    expect(alone.status).toBe(409);
    expect(alone.body.code).toBe('AMENDMENT_TERM_ENDED');
    // Into the panel's review instead: the vote that would decide is refused too.
    await t.http
      .post(`/api/bids/${bidId}/amendments/2/screen`)
      .set(officer.auth)
      .send({ outcome: 'accept', remarks: 'to the panel' })
      .expect(200);
    for (const p of panel.slice(0, 2))
      await t.http
        .post(`/api/bids/${bidId}/amendments/2/votes`)
        .set(p.auth)
        .send({ decision: 'approve', conflictOfInterest: false })
        .expect(201);
    const deciding = await t.http
      .post(`/api/bids/${bidId}/amendments/2/votes`)
      .set(panel[2].auth)
      .send({ decision: 'approve', conflictOfInterest: false });
    expect(deciding.status).toBe(409);
    expect(deciding.body.code).toBe('AMENDMENT_TERM_ENDED');
    const { rows } = await t.sql.query(
      `SELECT version, status FROM agreements WHERE bid_id = $1 ORDER BY version`,
      [bidId],
    );
    expect(rows).toEqual([{ version: 1, status: 'active' }]);
    const amendment = await t.http.get(`/api/bids/${bidId}/amendments/2`).set(officer.auth).expect(200);
    expect(amendment.body.state).toBe('in_review');
  });
});
