import { createTestApp, TestApp } from '@custodian/testing';
import { addEvent, addPatient, download, parseCsvGz, seedPractice } from './release-helpers';

type As = Awaited<ReturnType<TestApp['as']>>;

/**
 * Probe 23: a narrowing amendment (approved by a release officer alone) that comes into force
 * removes a recipient, or a field. SPEC §5: release files are downloadable by "the bid's
 * recipients … while the agreement is active"; §4: the agreement version the files were released
 * under is superseded. The files of releases made under the superseded version stay downloadable:
 * by the person the amendment removed, and with the field the agreement in force no longer covers.
 */
describe('probe 23: releases made under a superseded agreement version', () => {
  let t: TestApp;
  let researcher: As;
  let colleague: As;
  let officer: As;
  let releaser: As;
  let panel: As[];

  beforeAll(async () => {
    t = await createTestApp({ PANEL_QUORUM: '3' });
    const centre = (await t.factory.organisation({ name: 'Centre', kind: 'public_body' })).id;
    researcher = await t.as('researcher');
    colleague = await t.as('researcher', { organisationId: researcher.user.organisationId! });
    officer = await t.as('release_officer', { organisationId: centre });
    releaser = await t.as('release_officer', { organisationId: centre });
    panel = [];
    for (let i = 0; i < 3; i++) panel.push(await t.as('panel_member', { organisationId: centre }));
    await seedPractice(t.sql);
    for (let i = 0; i < 4; i++) {
      const id = await addPatient(t.sql, { nhs: String(9_100_000_000 + i) });
      await addEvent(t.sql, id);
    }
  });
  afterAll(() => t?.close());

  async function releaseOf(bidId: string): Promise<string> {
    const res = await t.http.post(`/api/bids/${bidId}/releases`).set(releaser.auth).expect(202);
    for (let i = 0; i < 300; i++) {
      const r = await t.http.get(`/api/releases/${res.body.id}`).set(releaser.auth).expect(200);
      if (r.body.state === 'completed') return res.body.id as string;
      if (r.body.state === 'failed') throw new Error(`release failed: ${JSON.stringify(r.body)}`);
      await new Promise((ok) => setTimeout(ok, 100));
    }
    throw new Error('release did not finish');
  }

  /** Amendment v2 through a release officer's approval (narrowing) and the applicant's acceptance. */
  async function narrowInForce(bidId: string, body: Record<string, unknown>) {
    const created = await t.http
      .post(`/api/bids/${bidId}/amendments`)
      .set(researcher.auth)
      .send(body)
      .expect(201);
    expect(created.body).toMatchObject({ version: 2, scope: 'narrowing' });
    await t.http.post(`/api/bids/${bidId}/amendments/2/submit`).set(researcher.auth).expect(200);
    await t.http
      .post(`/api/bids/${bidId}/amendments/2/screen`)
      .set(officer.auth)
      .send({ outcome: 'approve', remarks: 'narrows' })
      .expect(200);
    const accepted = await t.http
      .post(`/api/bids/${bidId}/agreement/accept`)
      .set(researcher.auth)
      .expect(200);
    expect(accepted.body).toMatchObject({ state: 'active', version: 2, agreement: { status: 'active' } });
    return accepted.body;
  }

  it('a recipient removed by an amendment in force can no longer download the files released before it', async () => {
    const bidId = (
      await t.factory.bid('active', {
        researcher,
        officer,
        panel,
        body: { recipients: [researcher.user.id, colleague.user.id] },
      })
    ).id;
    const releaseId = await releaseOf(bidId);
    // Under v1 both recipients download.
    expect((await download(t, colleague.auth, releaseId, 'gp.csv.gz')).status).toBe(200);

    const inForce = await narrowInForce(bidId, {
      reason: 'Our colleague has left the project',
      recipients: [researcher.user.id],
    });
    expect(inForce.recipients).toEqual([researcher.user.id]);

    // The colleague is no longer a recipient of the bid under the agreement in force.
    const res = await download(t, colleague.auth, releaseId, 'gp.csv.gz');
    expect(res.status).toBe(404);
  });

  it('files carrying a field the agreement in force no longer covers are not downloadable any more', async () => {
    const bidId = (await t.factory.bid('active', { researcher, officer, panel })).id;
    const releaseId = await releaseOf(bidId);
    const before = await download(t, researcher.auth, releaseId, 'gp.csv.gz');
    expect(before.status).toBe(200);
    expect(parseCsvGz(before.body).header).toContain('birth_year_month');

    const inForce = await narrowInForce(bidId, {
      reason: 'We no longer need dates of birth',
      datasets: [{ dataset: 'gp', fields: ['nhs_number', 'code', 'event_date'] }],
    });
    expect(inForce.datasets).toEqual([{ dataset: 'gp', fields: ['nhs_number', 'code', 'event_date'] }]);

    // The v1 release still hands out dates of birth (year and month) under agreement v2.
    const after = await download(t, researcher.auth, releaseId, 'gp.csv.gz');
    const view = await t.http.get(`/api/releases/${releaseId}`).set(researcher.auth).expect(200);
    expect({ status: after.status, downloadable: view.body.downloadable }).toEqual({
      status: 409,
      downloadable: false,
    });
  });
});
