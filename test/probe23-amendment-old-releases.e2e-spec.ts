import { createTestApp, TestApp } from '@custodian/testing';
import { download, parseCsvGz } from './release-helpers';
import { completedRelease, screenedAmendment, supersededReleaseSetUp } from './support/amendment-releases';
import type { As } from './support/reviewers';

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
    ({ researcher, colleague, officer, releaser, panel } = await supersededReleaseSetUp(t));
  });
  afterAll(() => t?.close());

  /** Amendment v2 through a release officer's approval (narrowing) and the applicant's acceptance. */
  async function narrowInForce(bidId: string, body: Record<string, unknown>) {
    const created = await screenedAmendment(t, bidId, { researcher, officer }, body, 'approve');
    expect(created).toMatchObject({ version: 2, scope: 'narrowing' });
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
    const releaseId = await completedRelease(t, bidId, releaser);
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
    const releaseId = await completedRelease(t, bidId, releaser);
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
