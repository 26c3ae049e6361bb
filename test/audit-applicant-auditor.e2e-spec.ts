import { AuditService } from '@custodian/audit';
import { createTestApp, TestApp } from '@custodian/testing';

/**
 * SPEC §5 step 4: counts of persons a researcher sees anywhere follow the aggregate rule. An auditor
 * who is also a researcher of the applicant organisation read, on the audit trail, the exact reason
 * their own release failed its verification (review-20's note): withheld for them, kept for others.
 */
describe('the audit trail for an auditor of the applicant organisation', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t?.close());

  it("withholds a failed verification's reason of their own organisation's release", async () => {
    const bid = await t.factory.bid('active');
    const reason = 'k-anonymity: class of 3 persons in gp.csv.gz';
    await t.app.get(AuditService).record({
      action: 'release.verification_failed',
      outcome: 'failure',
      actor: null,
      bidId: bid.id,
      subjectType: 'Release',
      subjectId: bid.id,
      details: { check: 'k_anonymity', reason },
    });
    const entry = async (auth: { Authorization: string }) =>
      (
        await t.http
          .get(`/api/audit?bidId=${bid.id}&action=release.verification_failed`)
          .set(auth)
          .expect(200)
      ).body.items[0].details;
    const org = bid.researcher.user.organisationId!;
    const dual = await t.factory.user({ roles: ['researcher', 'auditor'], organisationId: org });
    const dualAuth = { Authorization: `Bearer ${await t.login(dual.email)}` };
    expect(await entry(dualAuth)).toMatchObject({ check: 'k_anonymity' });
    expect(JSON.stringify(await entry(dualAuth))).not.toContain('3 persons');
    // An auditor of no applicant organisation reads it whole.
    expect(await entry((await t.as('auditor')).auth)).toMatchObject({ reason });
  });
});
