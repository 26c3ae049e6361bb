import { createTestApp, TEST_PASSWORD, TestApp } from '@custodian/testing';

type Session = Awaited<ReturnType<TestApp['as']>>;

/** A valid bid (as in bids.e2e-spec.ts). */
const BID = {
  title: 'Statins and stroke in Leeds',
  purpose: 'Study whether statin prescribing is associated with fewer strokes.',
  publicBenefit: 'Evidence for prescribing guidance on statins.',
  legalBasis: 's251',
  legalBasisReference: 'CAG 7-07(a)/2013',
  requestedTier: 'pseudonymised',
  datasets: [
    { dataset: 'gp', fields: ['nhs_number', 'date_of_birth', 'postcode', 'sex', 'code', 'event_date'] },
    { dataset: 'hes', fields: ['nhs_number', 'admission_date', 'diagnosis_icd10'] },
  ],
  cohort: {
    practices: ['A81001'],
    postcodeAreas: ['LS'],
    conditionCodes: ['22298006'],
    eventsFrom: '2010-01-01',
    eventsTo: '2014-12-31',
    ageMin: 18,
    ageMax: 90,
  },
  durationMonths: 12,
};

/**
 * Issue #28, segregation of duties: a governance role (admin, panel_member, release_officer,
 * auditor) given through the API is a request that a second administrator — neither the requester
 * nor the grantee — must approve; an administrator can never request one for themselves.
 */
describe('role grants: a second administrator approves governance roles', () => {
  let t: TestApp;
  let adminA: Session;
  let adminB: Session;
  let adminD: Session;
  let researcher: Session;

  beforeAll(async () => {
    t = await createTestApp();
    [adminA, adminB, adminD, researcher] = await Promise.all([
      t.as('admin'),
      t.as('admin'),
      t.as('admin'),
      t.as('researcher'),
    ]);
  });
  afterAll(() => t?.close());

  const audits = async (action: string, userId: string) =>
    (
      await t.sql.query(
        `SELECT actor_id AS "actorId", outcome, subject_id AS "subjectId", details
           FROM audit_log WHERE action = $1 AND subject_id = $2 ORDER BY id`,
        [action, userId],
      )
    ).rows as { actorId: string; outcome: string; subjectId: string; details: Record<string, unknown> }[];
  const roles = async (userId: string) =>
    ((await t.sql.query('SELECT roles FROM users WHERE id = $1', [userId])).rows[0].roles as string[]).sort();
  const grantsOf = async (userId: string) =>
    (await t.http.get('/api/role-grants').set(adminB.auth).expect(200)).body.filter(
      (g: { userId: string }) => g.userId === userId,
    ) as { id: string; role: string; requestedBy: string; outcome: string }[];
  const approve = (id: string, who: Session) =>
    t.http.post(`/api/role-grants/${id}/approve`).set(who.auth).send();
  const refuse = (id: string, who: Session) =>
    t.http.post(`/api/role-grants/${id}/refuse`).set(who.auth).send();

  it('an admin adding panel_member to themselves is refused (403), their roles unchanged, and audited', async () => {
    const res = await t.http
      .patch(`/api/users/${adminA.user.id}`)
      .set(adminA.auth)
      .send({ roles: ['admin', 'panel_member'] })
      .expect(403);
    expect(res.body).toMatchObject({ statusCode: 403, code: 'SELF_ROLE_GRANT' });
    expect(await roles(adminA.user.id)).toEqual(['admin']);
    expect(await grantsOf(adminA.user.id)).toEqual([]);
    const [refused] = await audits('identity.role_grant_refused', adminA.user.id);
    expect(refused).toMatchObject({
      actorId: adminA.user.id,
      outcome: 'denied',
      details: { role: 'panel_member', userId: adminA.user.id, requestedBy: adminA.user.id },
    });
    // Still an admin with a working session.
    await t.http.get('/api/users').set(adminA.auth).expect(200);
  });

  it('a release officer created by admin A has no release_officer role and cannot screen until admin B approves', async () => {
    const org = await t.factory.organisation();
    const applicant = await t.as('researcher', { organisationId: org.id });
    const bid = await t.http.post('/api/bids').set(applicant.auth).send(BID);
    expect(bid.status, JSON.stringify(bid.body)).toBe(201);
    await t.http.post(`/api/bids/${bid.body.id}/submit`).set(applicant.auth).send().expect(200);

    const created = await t.http
      .post('/api/users')
      .set(adminA.auth)
      .send({
        email: 'officer@example.org',
        password: TEST_PASSWORD,
        displayName: 'Officer',
        roles: ['release_officer'],
      })
      .expect(201);
    expect(created.body).toMatchObject({ roles: [], pendingRoles: ['release_officer'] });
    const officerId = created.body.id as string;
    expect(await roles(officerId)).toEqual([]);
    const [requested] = await audits('identity.role_grant_requested', officerId);
    expect(requested).toMatchObject({
      actorId: adminA.user.id,
      details: { role: 'release_officer', userId: officerId, requestedBy: adminA.user.id },
    });

    // Signs in, sees themselves, and every other route denies them.
    const early = { Authorization: `Bearer ${await t.login('officer@example.org')}` };
    const me = await t.http.get('/api/auth/me').set(early).expect(200);
    expect(me.body.roles).toEqual([]);
    await t.http.get('/api/bids').set(early).expect(403);
    await t.http
      .post(`/api/bids/${bid.body.id}/screen`)
      .set(early)
      .send({ outcome: 'accept', remarks: 'ok' })
      .expect(403);

    const [grant] = await grantsOf(officerId);
    expect(grant).toMatchObject({ role: 'release_officer', requestedBy: adminA.user.id, outcome: 'pending' });
    const own = await approve(grant.id, adminA).expect(403);
    expect(own.body.code).toBe('GRANT_APPROVER_IS_REQUESTER');
    expect(await roles(officerId)).toEqual([]);

    const ok = await approve(grant.id, adminB).expect(200);
    expect(ok.body).toMatchObject({ id: grant.id, outcome: 'approved', decidedBy: adminB.user.id });
    expect(await roles(officerId)).toEqual(['release_officer']);
    expect(await grantsOf(officerId)).toEqual([]);
    const [approved] = await audits('identity.role_grant_approved', officerId);
    expect(approved).toMatchObject({
      actorId: adminB.user.id,
      outcome: 'success',
      details: { grantId: grant.id, role: 'release_officer', userId: officerId, requestedBy: adminA.user.id },
    });
    // The role change ended the old session; a new one may screen.
    await t.http.get('/api/auth/me').set(early).expect(401);
    const officer = { Authorization: `Bearer ${await t.login('officer@example.org')}` };
    const user = await t.http.get(`/api/users/${officerId}`).set(adminA.auth).expect(200);
    expect(user.body).toMatchObject({ roles: ['release_officer'], pendingRoles: [] });
    await t.http
      .post(`/api/bids/${bid.body.id}/screen`)
      .set(officer)
      .send({ outcome: 'accept', remarks: 'ok' })
      .expect(200);
  });

  it('the grantee, an admin, cannot approve their own grant; a third admin can', async () => {
    const c = await t.as('admin');
    const res = await t.http
      .patch(`/api/users/${c.user.id}`)
      .set(adminA.auth)
      .send({ roles: ['admin', 'auditor'] })
      .expect(200);
    expect(res.body).toMatchObject({ roles: ['admin'], pendingRoles: ['auditor'] });
    const [grant] = await grantsOf(c.user.id);
    const self = await approve(grant.id, c).expect(403);
    expect(self.body.code).toBe('GRANT_APPROVER_IS_GRANTEE');
    expect(await roles(c.user.id)).toEqual(['admin']);
    await approve(grant.id, adminB).expect(200);
    expect(await roles(c.user.id)).toEqual(['admin', 'auditor']);
  });

  it('two concurrent approvals apply the role once', async () => {
    const u = await t.factory.user({ roles: ['researcher'] });
    await t.http
      .patch(`/api/users/${u.id}`)
      .set(adminA.auth)
      .send({ roles: ['researcher', 'panel_member'] })
      .expect(200);
    const [grant] = await grantsOf(u.id);
    const results = await Promise.all([approve(grant.id, adminB), approve(grant.id, adminD)]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 409]);
    expect(results.find((r) => r.status === 409)!.body.code).toBe('GRANT_NOT_PENDING');
    expect(await roles(u.id)).toEqual(['panel_member', 'researcher']);
    expect(await audits('identity.role_grant_approved', u.id)).toHaveLength(1);
  });

  it('a refused grant changes nothing, is audited, and cannot be approved afterwards', async () => {
    const u = await t.factory.user({ roles: ['researcher'] });
    await t.http
      .patch(`/api/users/${u.id}`)
      .set(adminA.auth)
      .send({ roles: ['researcher', 'auditor'] })
      .expect(200);
    const [grant] = await grantsOf(u.id);
    const res = await refuse(grant.id, adminB).expect(200);
    expect(res.body).toMatchObject({ outcome: 'refused', decidedBy: adminB.user.id });
    await approve(grant.id, adminD).expect(409);
    expect(await roles(u.id)).toEqual(['researcher']);
    const [refused] = await audits('identity.role_grant_refused', u.id);
    expect(refused).toMatchObject({
      actorId: adminB.user.id,
      details: { grantId: grant.id, role: 'auditor' },
    });
  });

  it('non-governance roles and removals apply at once; a repeated request keeps one pending grant', async () => {
    const u = await t.factory.user({ roles: ['researcher', 'panel_member'] });
    const res = await t.http
      .patch(`/api/users/${u.id}`)
      .set(adminA.auth)
      .send({ roles: ['researcher', 'data_manager', 'release_officer'] })
      .expect(200);
    expect(res.body).toMatchObject({ pendingRoles: ['release_officer'] });
    expect(await roles(u.id)).toEqual(['data_manager', 'researcher']);
    await t.http
      .patch(`/api/users/${u.id}`)
      .set(adminD.auth)
      .send({ roles: ['researcher', 'data_manager', 'release_officer'] })
      .expect(200);
    expect(await grantsOf(u.id)).toHaveLength(1);
  });

  it('approval checks the current state: a grant dropped by a later edit, or for a disabled user, is not applied', async () => {
    const u = await t.factory.user({ roles: ['researcher'] });
    await t.http
      .patch(`/api/users/${u.id}`)
      .set(adminA.auth)
      .send({ roles: ['researcher', 'panel_member'] })
      .expect(200);
    const [first] = await grantsOf(u.id);
    // The next edit no longer asks for panel_member: the pending grant is withdrawn.
    await t.http
      .patch(`/api/users/${u.id}`)
      .set(adminA.auth)
      .send({ roles: ['researcher'] })
      .expect(200);
    expect((await approve(first.id, adminB).expect(409)).body.code).toBe('GRANT_NOT_PENDING');

    await t.http
      .patch(`/api/users/${u.id}`)
      .set(adminA.auth)
      .send({ roles: ['researcher', 'panel_member'] })
      .expect(200);
    const [second] = await grantsOf(u.id);
    await t.http.patch(`/api/users/${u.id}`).set(adminD.auth).send({ disabled: true }).expect(200);
    expect((await approve(second.id, adminB).expect(409)).body.code).toBe('GRANTEE_DISABLED');
    expect(await roles(u.id)).toEqual(['researcher']);
  });

  it('only administrators see and decide grants; unknown ids are 404', async () => {
    await t.http.get('/api/role-grants').set(researcher.auth).expect(403);
    await t.http
      .post('/api/role-grants/00000000-0000-4000-8000-000000000000/approve')
      .set(researcher.auth)
      .expect(403);
    await approve('00000000-0000-4000-8000-000000000000', adminB).expect(404);
    await refuse('00000000-0000-4000-8000-000000000000', adminB).expect(404);
  });

  it('the schema re-checks the rules: no grant requested for oneself, no approval by the requester or the grantee', async () => {
    const u = await t.factory.user({ roles: ['researcher'] });
    const insert = (requestedBy: string, decidedBy: string | null, outcome: string) =>
      t.sql.query(
        `INSERT INTO role_grants (user_id, role, requested_by, decided_by, decided_at, outcome)
         VALUES ($1, 'auditor', $2, $3::uuid, CASE WHEN $3::uuid IS NULL THEN NULL ELSE now() END, $4)`,
        [u.id, requestedBy, decidedBy, outcome],
      );
    await expect(insert(u.id, null, 'pending')).rejects.toThrow(/role_grants_not_self/);
    await expect(insert(adminA.user.id, adminA.user.id, 'approved')).rejects.toThrow(
      /role_grants_second_admin/,
    );
    await expect(insert(adminA.user.id, u.id, 'approved')).rejects.toThrow(/role_grants_second_admin/);
    await insert(adminA.user.id, null, 'pending');
    await expect(insert(adminB.user.id, null, 'pending')).rejects.toThrow(/role_grants_one_pending/);
  });
});
