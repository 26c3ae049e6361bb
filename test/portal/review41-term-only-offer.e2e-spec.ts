import { createTestApp, TestApp } from '@custodian/testing';
import { pageText, signInAs } from '../support/portal-session';
import { screenedAmendment, seedReleasableGpData } from '../support/amendment-releases';
import { type As, reviewers } from '../support/reviewers';

/**
 * Review 41: since 39822cf an amendment of the term alone keeps the releases made under the
 * agreement in force (their files stay, downloads go on under the new version). The portal's offer
 * still warned, for every amendment, that accepting deletes those files and stops their downloads:
 * the applicant was told to ask for new releases (and to destroy copies) the centre kept. Failed
 * before (the deletion warning on a term-only offer).
 */
describe('the offer of a term-only amendment in the portal', () => {
  let t: TestApp;
  let researcher: As;
  let officer: As;
  let panel: As[];

  beforeAll(async () => {
    t = await createTestApp();
    ({ researcher, officer, panel } = await reviewers(t));
    await seedReleasableGpData(t);
  }, 120_000);
  afterAll(() => t?.close());

  const offerText = async (bidId: string) => {
    const me = await signInAs(t, researcher, `/requests/${bidId}`);
    return pageText(
      (await t.http.get(`/requests/${bidId}/amendments/2`).set('cookie', me.cookie).expect(200)).text,
    );
  };

  it('says the files already released stay, and a content amendment still says they are deleted', async () => {
    const termOnly = (await t.factory.bid('active', { researcher, officer, panel })).id;
    await screenedAmendment(
      t,
      termOnly,
      { researcher, officer },
      { reason: 'The study ends sooner', durationMonths: 6 },
      'approve',
    );
    const kept = await offerText(termOnly);
    expect(kept).toContain('Before you accept');
    expect(kept).not.toMatch(/deleted|downloads stop/i);
    expect(kept).toMatch(/only the term changes/i);

    const narrowed = (await t.factory.bid('active', { researcher, officer, panel })).id;
    await screenedAmendment(
      t,
      narrowed,
      { researcher, officer },
      {
        reason: 'No dates of birth',
        datasets: [{ dataset: 'gp', fields: ['nhs_number', 'code', 'event_date'] }],
      },
      'approve',
    );
    expect(await offerText(narrowed)).toMatch(/files of the releases made under it are deleted/i);
  });
});
