import { createTestApp, TestApp } from '@custodian/testing';

type As = Awaited<ReturnType<TestApp['as']>>;
interface Entry {
  action: string;
  ip: string | null;
  requestId: string | null;
  actorId: string | null;
  actorRoles: string[];
  bidId: string | null;
  details: Record<string, unknown>;
}

/**
 * Probe 36: the panel's decision is written on the audit trail in the name of the member whose vote
 * reached quorum (`bid.decide_*`, `bid.amendment.decide_*`). An auditor who is also a researcher of
 * the applicant organisation had the votes withheld (probe 35, SECURITY #230) but read that entry
 * whole, so they learnt who cast the deciding vote on their own organisation's request, and by
 * filtering on a member's id whether that member decided it (SPEC §4: applicants see the decision
 * and the conditions, not individual votes). The bid's history already names no member there.
 */
describe('the deciding member on the audit trail, for an auditor of the applicant organisation', () => {
  let t: TestApp;
  let researcher: As;
  let officer: As;
  let panel: As[];

  beforeAll(async () => {
    t = await createTestApp({ PANEL_QUORUM: '3' });
    const centre = (await t.factory.organisation({ kind: 'public_body' })).id;
    researcher = await t.as('researcher');
    officer = await t.as('release_officer', { organisationId: centre });
    panel = [];
    for (let i = 0; i < 3; i++) panel.push(await t.as('panel_member', { organisationId: centre }));
  });
  afterAll(() => t?.close());

  const trail = async (auth: { Authorization: string }, query: string): Promise<Entry[]> =>
    (await t.http.get(`/api/audit?${query}&limit=200`).set(auth).expect(200)).body.items;

  it('names neither the member who decided a request nor the one who decided its amendment', async () => {
    // A request approved (panel[2] decides), then an amendment the panel approves (panel[2] again).
    const approved = await t.factory.bid('active', { researcher, officer, panel });
    const v = (
      await t.http
        .post(`/api/bids/${approved.id}/amendments`)
        .set(researcher.auth)
        .send({
          reason: 'We also need the sex of each patient',
          datasets: [{ dataset: 'gp', fields: ['nhs_number', 'date_of_birth', 'sex', 'code', 'event_date'] }],
        })
        .expect(201)
    ).body.version as number;
    await t.http.post(`/api/bids/${approved.id}/amendments/${v}/submit`).set(researcher.auth).expect(200);
    await t.http
      .post(`/api/bids/${approved.id}/amendments/${v}/screen`)
      .set(officer.auth)
      .send({ outcome: 'accept' })
      .expect(200);
    for (const m of panel)
      await t.http
        .post(`/api/bids/${approved.id}/amendments/${v}/votes`)
        .set(m.auth)
        .send({ decision: 'approve', conflictOfInterest: false })
        .expect(201);
    // A request rejected (panel[0] decides) and one returned (panel[1] decides).
    const rejected = await t.factory.bid('in_review', { researcher, officer });
    const returned = await t.factory.bid('in_review', { researcher, officer });
    for (const [bid, order, decisions] of [
      [rejected.id, [1, 2, 0], ['reject', 'reject', 'reject']],
      [returned.id, [2, 0, 1], ['approve', 'reject', 'return']],
    ] as const)
      for (const [k, i] of order.entries()) {
        const decision = decisions[k];
        const res = await t.http
          .post(`/api/bids/${bid}/votes`)
          .set(panel[i].auth)
          .send({ decision, conflictOfInterest: false })
          .expect(201);
        if (res.body.bidState !== 'in_review') break;
      }
    const bids = [approved.id, rejected.id, returned.id];

    const dual = await t.factory.user({
      roles: ['researcher', 'auditor'],
      organisationId: researcher.user.organisationId!,
    });
    const dualAuth = { Authorization: `Bearer ${await t.login(dual.email)}` };
    const auditor = await t.as('auditor');
    for (const bidId of bids) {
      const whole = (await trail(auditor.auth, `bidId=${bidId}`)).filter((i) => /decide_/.test(i.action));
      const seen = (await trail(dualAuth, `bidId=${bidId}`)).filter((i) => /decide_/.test(i.action));
      // Another auditor reads who decided; the applicant's auditor reads the decision, not who.
      expect(whole.length).toBeGreaterThanOrEqual(1);
      expect(whole.every((i) => panel.some((p) => p.user.id === i.actorId))).toBe(true);
      expect(seen.map((i) => i.action)).toEqual(whole.map((i) => i.action));
      for (const [i, entry] of seen.entries()) {
        expect(entry).toMatchObject({ actorId: null, actorRoles: ['panel_member'] });
        expect(entry.details).toEqual(whole[i].details);
        for (const p of panel) expect(JSON.stringify(entry)).not.toContain(p.user.id);
      }
    }
    expect(
      (await trail(dualAuth, `bidId=${approved.id}`)).map((i) => i.action).filter((a) => /decide_/.test(a)),
    ).toEqual(['bid.amendment.decide_approve', 'bid.decide_approve']);
    // Nor does the trail read by a member's id tell which of the organisation's requests they decided.
    for (const p of panel) {
      const byMember = await trail(dualAuth, `actorId=${p.user.id}`);
      expect(byMember.filter((i) => i.bidId !== null && bids.includes(i.bidId))).toEqual([]);
      const others = await trail(auditor.auth, `actorId=${p.user.id}`);
      expect(others.some((i) => /decide_/.test(i.action))).toBe(true);
    }
    const verify = await t.http.get('/api/audit/verify').set(auditor.auth).expect(200);
    expect(verify.body.ok).toBe(true);
  });

  it("gives neither the vote's nor the decision's address or request id, which match the member's own entries", async () => {
    // The withheld entries kept the address the member voted from: the same as on the member's
    // sign-in entries, which the trail shows with their actor, so the address named the voter.
    const bid = await t.factory.bid('approved', { researcher, officer, panel });
    const dual = await t.factory.user({
      roles: ['researcher', 'auditor'],
      organisationId: researcher.user.organisationId!,
    });
    const dualAuth = { Authorization: `Bearer ${await t.login(dual.email)}` };
    const auditor = await t.as('auditor');
    const panelEntries = (i: Entry) => /\.vote$|decide_/.test(i.action);
    const whole = (await trail(auditor.auth, `bidId=${bid.id}`)).filter(panelEntries);
    const seen = (await trail(dualAuth, `bidId=${bid.id}`)).filter(panelEntries);
    expect(seen).toHaveLength(4);
    expect(whole.every((i) => i.ip !== null && i.requestId !== null)).toBe(true);
    const login = (await trail(dualAuth, `actorId=${panel[2].user.id}&action=auth.login`))[0];
    expect(login.ip).toBe(whole[0].ip);
    for (const entry of seen)
      expect({ ip: entry.ip, requestId: entry.requestId }).toEqual({ ip: null, requestId: null });
  });
});
