import { createTestApp, TestApp } from '@custodian/testing';
import { portalSignIn } from '../support/portal-session';
import { addEvent, addPatient, seedPractice } from '../release-helpers';

type As = Awaited<ReturnType<TestApp['as']>>;

/**
 * probe-24, finding 4: accepting an amendment's agreement (v2) stops the downloads of every release
 * made under v1 and deletes its files (closing note 13, probe-23 #1/#2). In the portal:
 * - before: the amendment page's "Before you accept DSA-…-v2" says only "Accepting brings the
 *   amendment into force: releases from now on follow it, and the agreement in force is
 *   superseded" — nothing says the files already released become unavailable and are deleted;
 * - after: the request page lists the old release as "Completed" with its files (no links), with no
 *   "Files deleted" tag and no reason, and a download link kept from before answers "they were
 *   deleted when the agreement ended" — but the agreement did not end: v2 is active.
 */
const text = (html: string) =>
  html
    .replace(/<script[\s\S]*?<\/script>/g, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&nbsp;|\s+/g, ' ');

describe('probe-24: a release made under a superseded agreement, in the portal', () => {
  let t: TestApp;
  let researcher: As;
  let officer: As;
  let panel: As[];

  beforeAll(async () => {
    t = await createTestApp({ PANEL_QUORUM: '3' });
    const centre = (await t.factory.organisation({ name: 'Centre', kind: 'public_body' })).id;
    researcher = await t.as('researcher');
    officer = await t.as('release_officer', { organisationId: centre });
    panel = [];
    for (let i = 0; i < 3; i++) panel.push(await t.as('panel_member', { organisationId: centre }));
    await seedPractice(t.sql);
    for (let i = 0; i < 4; i++) {
      const id = await addPatient(t.sql, { nhs: String(9_100_000_000 + i) });
      await addEvent(t.sql, id);
    }
  }, 120_000);
  afterAll(() => t?.close());

  async function releaseOf(bidId: string): Promise<string> {
    const res = await t.http.post(`/api/bids/${bidId}/releases`).set(officer.auth).expect(202);
    for (let i = 0; i < 300; i++) {
      const r = await t.http.get(`/api/releases/${res.body.id}`).set(officer.auth).expect(200);
      if (r.body.state === 'completed') return res.body.id as string;
      if (r.body.state === 'failed') throw new Error(`release failed: ${JSON.stringify(r.body)}`);
      await new Promise((ok) => setTimeout(ok, 100));
    }
    throw new Error('release did not finish');
  }

  it('warns before acceptance, and says afterwards why the old files are gone', async () => {
    const bidId = (await t.factory.bid('active', { researcher, officer, panel })).id;
    const releaseId = await releaseOf(bidId);
    await t.http
      .post(`/api/bids/${bidId}/amendments`)
      .set(researcher.auth)
      .send({
        reason: 'We no longer need dates of birth',
        datasets: [{ dataset: 'gp', fields: ['nhs_number', 'code', 'event_date'] }],
      })
      .expect(201);
    await t.http.post(`/api/bids/${bidId}/amendments/2/submit`).set(researcher.auth).expect(200);
    await t.http
      .post(`/api/bids/${bidId}/amendments/2/screen`)
      .set(officer.auth)
      .send({ outcome: 'approve', remarks: 'narrows' })
      .expect(200);

    const email = (researcher.user as unknown as { email: string }).email;
    const me = await portalSignIn(t, email, `/requests/${bidId}`);
    const download = `/requests/${bidId}/releases/${releaseId}/files/gp.csv.gz`;
    expect((await t.http.get(download).set('cookie', me.cookie)).status).toBe(200);

    // Before: the offer of v2 says what accepting it does to the files already released.
    const offer = text(
      (await t.http.get(`/requests/${bidId}/amendments/2`).set('cookie', me.cookie).expect(200)).text,
    );
    expect(offer).toContain('Before you accept');
    expect(offer).toMatch(
      /(files|releases?)[^.]*(deleted|no longer (be )?(available|downloadable)|downloads? (will )?stop)/i,
    );

    await t.http.post(`/api/bids/${bidId}/agreement/accept`).set(researcher.auth).expect(200);

    // After: the old release is shown as deleted, and why; the refusal does not say the agreement ended.
    const page = text((await t.http.get(`/requests/${bidId}`).set('cookie', me.cookie).expect(200)).text);
    const release = page.slice(page.indexOf('Release of'));
    expect(release).toMatch(/^Release of [^]*?Files deleted/);
    expect(release).toMatch(/superseded|amendment|version 2|v2/i);
    const refused = await t.http.get(download).set('cookie', me.cookie);
    expect(refused.status).toBe(409);
    expect(text(refused.text)).not.toContain('when the agreement ended');
  });
});
