import { createTestApp, TestApp } from '@custodian/testing';

/**
 * Probe 17, finding 2: SPEC §4 — "each change is an event with who/when/why"; "A release officer
 * screens a submitted bid: accept into review, or return with remarks"; SPEC §7 —
 * `POST /api/bids/:id/revoke {reason}`. The remarks of a return and the reason of a revocation are
 * the "why" the applicant reads, and the API requires them — but only by length: three spaces, or
 * a right-to-left override and a control character, are accepted and stored as the why. A bid's
 * title, purpose and public benefit refuse exactly this (IsPlainText: "a title of spaces was stored
 * as \"\" and could be submitted; an outsider's probe"). The same holds for a panel member's
 * condition (it becomes a condition of the data sharing agreement), an amendment's reason, and the
 * reason an admin must give to correct (backdate) a practice's awareness start (SPEC §2: "an admin
 * may correct it, with a reason, audited") — which opens the practice to extracts at once.
 */
describe('probe 17: a why (remarks, reason, condition) that is nothing a person can read', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t?.close());

  it('screening: a return with blank or invisible remarks is a 400, nothing changed', async () => {
    const accepted: string[] = [];
    for (const remarks of [' ', '   ', '\u202e\u0007\n', '\u200b\u200b\u200b']) {
      const bid = await t.factory.bid('submitted');
      const officer = await t.as('release_officer', {
        organisationId: (await t.factory.organisation({ kind: 'public_body' })).id,
      });
      const res = await t.http
        .post(`/api/bids/${bid.id}/screen`)
        .set(officer.auth)
        .send({ outcome: 'return', remarks });
      const state = (await t.http.get(`/api/bids/${bid.id}`).set(bid.researcher.auth)).body.state;
      if (res.status !== 400 || state !== 'submitted')
        accepted.push(`${JSON.stringify(remarks)}: ${res.status}, bid ${state}`);
    }
    expect(accepted).toEqual([]);
  });

  it('revocation: a blank or invisible reason is a 400, the agreement stays active', async () => {
    const admin = await t.as('admin');
    const accepted: string[] = [];
    for (const reason of ['   ', '\u202e\u0007\n', '\u200b\u200b\u200b']) {
      const bid = await t.factory.bid('active');
      const res = await t.http.post(`/api/bids/${bid.id}/revoke`).set(admin.auth).send({ reason });
      const state = (await t.http.get(`/api/bids/${bid.id}`).set(bid.researcher.auth)).body.state;
      if (res.status !== 400 || state !== 'active')
        accepted.push(`${JSON.stringify(reason)}: ${res.status}, bid ${state}`);
    }
    expect(accepted).toEqual([]);
  });

  it("a panel member's condition that shows nothing (controls, text-direction) is a 400, not a condition of the agreement", async () => {
    // A condition of spaces alone is dropped already; one of a right-to-left override and a bell
    // became a condition of the data sharing agreement the applicant accepts.
    const accepted: string[] = [];
    for (const condition of ['\u202e\u0007', '\u200b\u200b\u200b', 'Publish \u202eafter 12 months']) {
      const bid = await t.factory.bid('in_review');
      const member = await t.as('panel_member', {
        organisationId: (await t.factory.organisation({ kind: 'public_body' })).id,
      });
      const res = await t.http
        .post(`/api/bids/${bid.id}/votes`)
        .set(member.auth)
        .send({ decision: 'approve', conflictOfInterest: false, conditions: [condition] });
      if (res.status !== 400) accepted.push(`${JSON.stringify(condition)}: ${res.status}`);
    }
    expect(accepted).toEqual([]);
  });

  it("an amendment's reason of spaces, controls or text-direction characters is a 400", async () => {
    const accepted: string[] = [];
    for (const reason of [' '.repeat(10), '\u202e' + '\u0007'.repeat(9), '\u200b'.repeat(10)]) {
      const bid = await t.factory.bid('active');
      const res = await t.http
        .post(`/api/bids/${bid.id}/amendments`)
        .set(bid.researcher.auth)
        .send({ reason, durationMonths: 6 });
      if (res.status !== 400) accepted.push(`${JSON.stringify(reason)}: ${res.status}`);
    }
    expect(accepted).toEqual([]);
  });

  it("an admin's correction of a practice's awareness start needs a reason a person can read (SPEC §2: 'with a reason, audited')", async () => {
    const admin = await t.as('admin');
    const accepted: string[] = [];
    let n = 0;
    for (const reason of [' '.repeat(10), '\u202e' + '\u0007'.repeat(9), '\u200b'.repeat(10)]) {
      const ods = `B1700${++n}`;
      await t.http
        .post('/api/practices')
        .set(admin.auth)
        .send({ odsCode: ods, name: `Probe 17 practice ${n}`, rollout: 'pilot' })
        .expect(201);
      const res = await t.http
        .post(`/api/practices/${ods}/awareness`)
        .set(admin.auth)
        .send({ startedOn: '2026-01-05', reason });
      const after = (await t.http.get(`/api/practices/${ods}`).set(admin.auth)).body.awarenessStartedOn;
      if (res.status !== 400 || after !== null)
        accepted.push(`${JSON.stringify(reason)}: ${res.status}, awarenessStartedOn ${after}`);
    }
    expect(accepted).toEqual([]);
  });
});
