import { reviewersSeeVersion, reviewersSeeVersionSql } from '../libs/bids/src/bid-access';
import { verifyRegister } from '@custodian/register';
import { createTestApp, TestApp } from '@custodian/testing';
import { addEvent, addPatient, download, parseCsvGz, seedPractice } from './release-helpers';
import { COHORT_KEYS, expectRefusedNaming } from './support/validation';

type As = Awaited<ReturnType<TestApp['as']>>;

/**
 * Amendments (#25), through HTTP: a new version of an approved or active bid, screened and decided
 * on its diff; narrowing by a release officer alone, widening by the panel at quorum; the version
 * in force stays in force (releases follow it) until the applicant accepts the agreement's next
 * version; the register shows each version, and verify-register agrees.
 */
describe('amendments', () => {
  let t: TestApp;
  let researcher: As;
  let officer: As;
  let releaser: As;
  let panel: As[];
  let other: As;

  beforeAll(async () => {
    t = await createTestApp({ PANEL_QUORUM: '3' });
    const centre = (await t.factory.organisation({ name: 'Centre', kind: 'public_body' })).id;
    researcher = await t.as('researcher');
    other = await t.as('researcher');
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

  const activeBid = async () => (await t.factory.bid('active', { researcher, officer, panel })).id;
  const amend = (bidId: string, body: Record<string, unknown>, who: As = researcher) =>
    t.http.post(`/api/bids/${bidId}/amendments`).set(who.auth).send(body);
  const submit = (bidId: string, v: number) =>
    t.http.post(`/api/bids/${bidId}/amendments/${v}/submit`).set(researcher.auth).expect(200);
  const screen = (bidId: string, v: number, outcome: string) =>
    t.http
      .post(`/api/bids/${bidId}/amendments/${v}/screen`)
      .set(officer.auth)
      .send({ outcome, remarks: 'screened' });
  const vote = (bidId: string, v: number, member: As, decision: string) =>
    t.http
      .post(`/api/bids/${bidId}/amendments/${v}/votes`)
      .set(member.auth)
      .send({ decision, conflictOfInterest: false })
      .expect(201);
  const WIDER = {
    reason: 'We also need the sex of each patient',
    datasets: [{ dataset: 'gp', fields: ['nhs_number', 'date_of_birth', 'sex', 'code', 'event_date'] }],
  };

  async function release(bidId: string) {
    const res = await t.http.post(`/api/bids/${bidId}/releases`).set(releaser.auth).expect(202);
    for (let i = 0; i < 300; i++) {
      const r = await t.http.get(`/api/releases/${res.body.id}`).set(releaser.auth).expect(200);
      if (r.body.state === 'completed') {
        const file = await download(t, researcher.auth, res.body.id, 'gp.csv.gz');
        const { rows } = await t.sql.query(`SELECT spec FROM releases WHERE id = $1`, [res.body.id]);
        const requested = await t.sql.query(
          `SELECT details FROM audit_log WHERE action = 'release.requested' AND subject_id = $1`,
          [res.body.id],
        );
        return {
          header: parseCsvGz(file.body).header,
          spec: rows[0].spec,
          requested: requested.rows[0]?.details,
        };
      }
      if (r.body.state === 'failed') throw new Error(`release failed: ${JSON.stringify(r.body)}`);
      await new Promise((ok) => setTimeout(ok, 100));
    }
    throw new Error('release did not finish');
  }

  it('refuses what it must: another organisation’s bid 404, a draft 409, two at once 409, unknown properties 400, text 415, no change 400', async () => {
    const bidId = await activeBid();
    expect((await amend(bidId, WIDER, other)).status).toBe(404);
    const draft = (await t.factory.bid('draft', { researcher })).id;
    expect((await amend(draft, WIDER)).body).toMatchObject({ statusCode: 409, code: 'NOT_AMENDABLE' });
    const unknown = await amend(bidId, { ...WIDER, requestedTier: 'identifiable' });
    expect(unknown.status).toBe(400);
    const text = await t.http
      .post(`/api/bids/${bidId}/amendments`)
      .set(researcher.auth)
      .set('content-type', 'text/plain')
      .send('reason=more');
    expect([400, 415]).toContain(text.status);
    const nothing = await amend(bidId, { reason: 'Nothing changes at all here' });
    expect(nothing.body).toMatchObject({ statusCode: 400, code: 'AMENDMENT_EMPTY' });

    const both = await Promise.all([amend(bidId, WIDER), amend(bidId, { ...WIDER, durationMonths: 6 })]);
    expect(both.map((r) => r.status).sort()).toEqual([201, 409]);
    expect(both.find((r) => r.status === 409)!.body.code).toBe('AMENDMENT_OPEN');
    const [created] = both.filter((r) => r.status === 201);
    // Reviewers do not see a draft amendment; the bid shows no pending one until it is submitted.
    await t.http.get(`/api/bids/${bidId}/amendments/${created.body.version}`).set(officer.auth).expect(404);
    const bid = await t.http.get(`/api/bids/${bidId}`).set(researcher.auth).expect(200);
    expect(bid.body).toMatchObject({ version: 1, pendingAmendment: null });
    // Nobody screens or votes on a draft; another organisation cannot submit it.
    expect((await screen(bidId, created.body.version, 'accept')).status).toBe(404);
    // Version 1 (the request as approved, which reviewers can read) is no amendment to screen or
    // vote on: 409, as an illegal transition (it was 404; an outsider's probe, 2026-12-06).
    expect((await screen(bidId, 1, 'accept')).body).toMatchObject({
      statusCode: 409,
      code: 'ILLEGAL_TRANSITION',
    });
    const v1Vote = await t.http
      .post(`/api/bids/${bidId}/amendments/1/votes`)
      .set(panel[0].auth)
      .send({ decision: 'approve', conflictOfInterest: false });
    expect(v1Vote.body).toMatchObject({ statusCode: 409, code: 'ILLEGAL_TRANSITION' });
    await t.http
      .post(`/api/bids/${bidId}/amendments/${created.body.version}/submit`)
      .set(other.auth)
      .expect(404);
  });

  it('an amendment withdrawn while still a draft stays the applicant’s alone: 404 to reviewers, not listed', async () => {
    // An outsider's probe: once withdrawn, a never-submitted amendment was readable by the panel.
    const bidId = await activeBid();
    const draft = (await amend(bidId, WIDER).expect(201)).body.version as number;
    await t.http
      .post(`/api/bids/${bidId}/amendments/${draft}/withdraw`)
      .set(researcher.auth)
      .send({})
      .expect(200);
    const submitted = (await amend(bidId, { ...WIDER, durationMonths: 6 }).expect(201)).body
      .version as number;
    await submit(bidId, submitted);
    await t.http
      .post(`/api/bids/${bidId}/amendments/${submitted}/withdraw`)
      .set(researcher.auth)
      .send({})
      .expect(200);
    const none = (await t.http.get(`/api/bids/${bidId}/amendments/99`).set(panel[0].auth).expect(404)).body;
    for (const who of [panel[0], officer]) {
      expect((await t.http.get(`/api/bids/${bidId}/amendments/${draft}`).set(who.auth)).body).toEqual(none);
      // Submitted and withdrawn before screening: the officer's; the panel never had it.
      const panelOnly = who === panel[0];
      await t.http
        .get(`/api/bids/${bidId}/amendments/${submitted}`)
        .set(who.auth)
        .expect(panelOnly ? 404 : 200);
      const listed = (await t.http.get(`/api/bids/${bidId}/amendments`).set(who.auth).expect(200)).body.map(
        (a: { version: number }) => a.version,
      );
      expect(listed).toEqual(panelOnly ? [1] : [submitted, 1]);
    }
    expect((await screen(bidId, draft, 'accept')).status).toBe(404);
    const mine = (await t.http.get(`/api/bids/${bidId}/amendments`).set(researcher.auth).expect(200)).body;
    expect(mine.map((a: { version: number }) => a.version)).toEqual([submitted, draft, 1]);
  });

  it('the panel reads an amendment once it is screened into review, not while it waits for screening (SPEC §1)', async () => {
    const bidId = await activeBid();
    const v = (await amend(bidId, WIDER).expect(201)).body.version as number;
    await submit(bidId, v);
    const versions = async (who: As) =>
      (await t.http.get(`/api/bids/${bidId}/amendments`).set(who.auth).expect(200)).body.map(
        (a: { version: number }) => a.version,
      );
    // Waiting for screening: the officer's, not the panel's.
    await t.http.get(`/api/bids/${bidId}/amendments/${v}`).set(panel[0].auth).expect(404);
    expect(await versions(panel[0])).not.toContain(v);
    await t.http.get(`/api/bids/${bidId}/amendments/${v}`).set(officer.auth).expect(200);
    expect(await versions(officer)).toContain(v);
    // Voting on it is the unknown version's 404 too: it answered 409 naming its state (a review).
    const voteOn = (version: number) =>
      t.http
        .post(`/api/bids/${bidId}/amendments/${version}/votes`)
        .set(panel[0].auth)
        .send({ decision: 'approve', conflictOfInterest: false });
    const unknown = (await voteOn(99).expect(404)).body;
    expect((await voteOn(v).expect(404)).body).toEqual(unknown);
    await screen(bidId, v, 'accept').expect(200);
    await t.http.get(`/api/bids/${bidId}/amendments/${v}`).set(panel[0].auth).expect(200);
    expect(await versions(panel[0])).toContain(v);
  });

  it('null is no value in an amendment either: a 400 naming the property, at create and edit, nothing stored', async () => {
    const bidId = await activeBid();
    const versions = async () =>
      (
        await t.sql.query(
          'SELECT row_to_json(v)::text AS r FROM bid_versions v WHERE bid_id = $1 ORDER BY version',
          [bidId],
        )
      ).rows;
    const refused = expectRefusedNaming;
    const before = await versions();
    for (const k of COHORT_KEYS)
      refused(await amend(bidId, { ...WIDER, cohort: { [k]: null } }), `cohort.${k}`);
    for (const k of ['datasets', 'cohort', 'aggregation', 'durationMonths', 'recipients'])
      refused(await amend(bidId, { ...WIDER, [k]: null }), k);
    expect(await versions()).toEqual(before);
    const v = (await amend(bidId, WIDER).expect(201)).body.version as number;
    const stored = await versions();
    const patch = (body: Record<string, unknown>) =>
      t.http.patch(`/api/bids/${bidId}/amendments/${v}`).set(researcher.auth).send(body);
    for (const k of COHORT_KEYS) refused(await patch({ cohort: { [k]: null } }), `cohort.${k}`);
    for (const k of ['reason', 'datasets', 'cohort', 'aggregation', 'durationMonths', 'recipients'])
      refused(await patch({ [k]: null }), k);
    expect(await versions()).toEqual(stored);
  });

  it('a narrowing amendment: approved by a release officer alone, in force once the applicant accepts v2', async () => {
    const bidId = await activeBid();
    const before = await t.http.get(`/api/bids/${bidId}`).set(researcher.auth).expect(200);
    const v1 = before.body.agreement.reference as string;
    expect(v1).toMatch(/^DSA-\d{4}-\d{4}-v1$/);
    const created = await amend(bidId, {
      reason: 'We no longer need dates of birth, and finish early',
      datasets: [{ dataset: 'gp', fields: ['nhs_number', 'code', 'event_date'] }],
      durationMonths: 6,
    }).expect(201);
    expect(created.body).toMatchObject({ version: 2, baseVersion: 1, state: 'draft', scope: 'narrowing' });
    expect(created.body.diff).toEqual([
      {
        field: 'datasets.gp',
        inForce: 'nhs_number, date_of_birth, code, event_date',
        proposed: 'nhs_number, code, event_date',
        effect: 'narrows',
      },
      { field: 'durationMonths', inForce: '12', proposed: '6', effect: 'narrows' },
    ]);
    await submit(bidId, 2);
    const approved = await screen(bidId, 2, 'approve').expect(200);
    const v2 = v1.replace(/-v1$/, '-v2');
    expect(approved.body).toMatchObject({ state: 'approved', agreementReference: v2 });
    // Until accepted, v1 is in force; the bid shows the pending amendment.
    const pending = await t.http.get(`/api/bids/${bidId}`).set(researcher.auth).expect(200);
    expect(pending.body).toMatchObject({
      state: 'active',
      version: 1,
      agreement: { reference: v1, status: 'active' },
      pendingAmendment: { version: 2, state: 'approved', scope: 'narrowing' },
    });
    expect(pending.body.datasets[0].fields).toContain('date_of_birth');
    // Another amendment waits until this one is accepted.
    expect((await amend(bidId, { reason: 'And another change', durationMonths: 3 })).body.code).toBe(
      'AMENDMENT_OPEN',
    );

    const accepted = await t.http
      .post(`/api/bids/${bidId}/agreement/accept`)
      .set(researcher.auth)
      .expect(200);
    expect(accepted.body).toMatchObject({
      state: 'active',
      version: 2,
      durationMonths: 6,
      agreement: { reference: v2, status: 'active', durationMonths: 6 },
      pendingAmendment: null,
    });
    expect(accepted.body.datasets).toEqual([{ dataset: 'gp', fields: ['nhs_number', 'code', 'event_date'] }]);
    const { rows } = await t.sql.query(
      `SELECT reference, status FROM agreements WHERE bid_id = $1 ORDER BY version`,
      [bidId],
    );
    expect(rows).toEqual([
      { reference: v1, status: 'superseded' },
      { reference: v2, status: 'active' },
    ]);
    const versions = await t.http.get(`/api/bids/${bidId}/amendments`).set(researcher.auth).expect(200);
    expect(versions.body.map((v: { version: number; state: string }) => [v.version, v.state])).toEqual([
      [2, 'in_force'],
      [1, 'superseded'],
    ]);
    // Accepting again: nothing is offered any more.
    const again = await t.http.post(`/api/bids/${bidId}/agreement/accept`).set(researcher.auth);
    expect(again.body).toMatchObject({ statusCode: 409, code: 'ILLEGAL_TRANSITION' });
    // A second amendment, of version 2 in force (it was a 500: the copy of the version in force
    // broke the base-version check, an outsider's probe), through to its agreement v3.
    const third = await amend(bidId, { reason: 'We finish a month earlier still', durationMonths: 5 }).expect(
      201,
    );
    expect(third.body).toMatchObject({ version: 3, baseVersion: 2, state: 'draft', scope: 'narrowing' });
    await submit(bidId, 3);
    await screen(bidId, 3, 'approve').expect(200);
    const v3 = await t.http.post(`/api/bids/${bidId}/agreement/accept`).set(researcher.auth).expect(200);
    expect(v3.body).toMatchObject({
      version: 3,
      durationMonths: 5,
      agreement: { reference: v1.replace(/-v1$/, '-v3') },
    });
  });

  it('a widening amendment: the officer cannot approve it; the panel decides at quorum; releases follow the version in force', async () => {
    const bidId = await activeBid();
    const created = await amend(bidId, WIDER).expect(201);
    expect(created.body).toMatchObject({ version: 2, scope: 'widening' });
    expect(created.body.diff).toEqual([
      {
        field: 'datasets.gp',
        inForce: 'nhs_number, date_of_birth, code, event_date',
        proposed: 'nhs_number, date_of_birth, sex, code, event_date',
        effect: 'widens',
      },
    ]);
    await submit(bidId, 2);
    const refused = await screen(bidId, 2, 'approve');
    expect(refused.body).toMatchObject({ statusCode: 409, code: 'AMENDMENT_WIDENS' });
    await screen(bidId, 2, 'accept').expect(200);

    // In review: the reviewers see the diff; releases go on under v1.
    const seen = await t.http.get(`/api/bids/${bidId}/amendments/2`).set(panel[0].auth).expect(200);
    expect(seen.body).toMatchObject({
      state: 'in_review',
      diff: [{ field: 'datasets.gp', effect: 'widens' }],
    });
    const during = await release(bidId);
    expect(during.header).toEqual(['pseudo_id', 'birth_year_month', 'code', 'event_date']);
    expect(during.spec).toMatchObject({ agreementVersion: 1 });
    // The audit trail names the agreement version the release was asked under.
    expect(during.requested).toMatchObject({ agreementVersion: 1 });
    expect(during.spec.agreementReference).toMatch(/-v1$/);

    // The screener and the applicant cannot vote; a tier change is refused.
    const tier = await t.http
      .post(`/api/bids/${bidId}/amendments/2/votes`)
      .set(panel[0].auth)
      .send({ decision: 'approve', tier: 'anonymised', conflictOfInterest: false });
    expect(tier.body).toMatchObject({ statusCode: 400, code: 'AMENDMENT_TIER_FIXED' });
    expect((await vote(bidId, 2, panel[0], 'approve')).body).toMatchObject({
      counted: 1,
      amendmentState: 'in_review',
    });
    expect((await vote(bidId, 2, panel[1], 'approve')).body.amendmentState).toBe('in_review');
    const third = await vote(bidId, 2, panel[2], 'approve');
    expect(third.body).toMatchObject({ counted: 3, quorum: 3, amendmentState: 'approved' });
    const again = await t.http
      .post(`/api/bids/${bidId}/amendments/2/votes`)
      .set(panel[2].auth)
      .send({ decision: 'approve', conflictOfInterest: false });
    expect(again.status).toBe(409);

    // Approved, not yet accepted: still v1.
    expect((await release(bidId)).header).not.toContain('sex');
    await t.http.post(`/api/bids/${bidId}/agreement/accept`).set(researcher.auth).expect(200);
    const after = await release(bidId);
    expect(after.header).toEqual(['pseudo_id', 'birth_year_month', 'sex', 'code', 'event_date']);
    expect(after.spec).toMatchObject({ agreementVersion: 2 });
    expect(after.requested).toMatchObject({ agreementVersion: 2 });
    expect(after.spec.agreementReference).toMatch(/-v2$/);

    // The applicant's history shows the panel's decision, not who voted.
    const events = await t.http.get(`/api/bids/${bidId}/events`).set(researcher.auth).expect(200);
    const decided = events.body.find((e: { action: string }) => e.action === 'amend_decide_approve');
    expect(decided).toMatchObject({ actorId: null, details: { version: 2, to: 'approved' } });
    expect(events.body.some((e: { action: string }) => e.action === 'amend_vote')).toBe(false);

    // The audit trail has every amendment transition.
    const auditor = await t.as('auditor');
    const audit = await t.http.get(`/api/audit?bidId=${bidId}&limit=200`).set(auditor.auth).expect(200);
    const actions = audit.body.items.map((e: { action: string }) => e.action);
    for (const a of [
      'bid.amendment.create',
      'bid.amendment.submit',
      'bid.amendment.screen_accept',
      'bid.amendment.vote',
      'bid.amendment.decide_approve',
      'bid.amendment.accept',
    ])
      expect(actions).toContain(a);
  });

  it('a rejected amendment leaves the version in force untouched', async () => {
    const bidId = await activeBid();
    await amend(bidId, { ...WIDER, durationMonths: 24 }).expect(201);
    await submit(bidId, 2);
    await screen(bidId, 2, 'accept').expect(200);
    for (const m of panel) await vote(bidId, 2, m, 'reject');
    const got = await t.http.get(`/api/bids/${bidId}/amendments/2`).set(researcher.auth).expect(200);
    expect(got.body.state).toBe('rejected');
    const bid = await t.http.get(`/api/bids/${bidId}`).set(researcher.auth).expect(200);
    expect(bid.body).toMatchObject({
      version: 1,
      durationMonths: 12,
      pendingAmendment: null,
      agreement: { status: 'active', durationMonths: 12 },
    });
    expect(bid.body.agreement.reference).toMatch(/-v1$/);
    expect(bid.body.datasets[0].fields).not.toContain('sex');
    const { rows } = await t.sql.query(`SELECT count(*)::int AS n FROM agreements WHERE bid_id = $1`, [
      bidId,
    ]);
    expect(rows[0].n).toBe(1);
    // A new amendment may be opened after a rejection.
    await amend(bidId, { reason: 'Finishing the work a little sooner', durationMonths: 9 }).expect(201);
  });

  it('the register shows each agreement version, and verify-register agrees with it', async () => {
    const get = async (path: string) => (await t.http.get(path).expect(200)).body;
    const register = await get('/api/register');
    const amended = register.filter((l: { type: string }) => l.type === 'amendment');
    // The narrowing bid's v2 and v3, the widening bid's v2.
    expect(amended.length).toBe(3);
    expect(
      amended.filter((l: { agreementReference: string }) => l.agreementReference.endsWith('-v3')),
    ).toHaveLength(1);
    for (const line of amended) {
      const decision = register.find(
        (l: { type: string; bidId: string }) => l.type === 'decision' && l.bidId === line.bidId,
      );
      expect(decision.agreementReference).toMatch(/-v1$/);
      expect(line.agreementReference).toMatch(/-v[23]$/);
      expect(line.agreementReference.replace(/-v[23]$/, '-v1')).toBe(decision.agreementReference);
      expect(line.registerSeq).toEqual(expect.any(Number));
    }
    // The narrowed version's line lists its datasets; v1's keeps its own.
    const result = await verifyRegister(get);
    expect(result.problems).toEqual([]);
  });

  it("announces each step as the bid's own (#25): officers hear of the submission, the applicant of the approval and of agreement v2; no quorum notice", async () => {
    const bidId = await activeBid();
    await amend(bidId, { reason: 'We finish early', durationMonths: 6 }).expect(201);
    const notices = async () =>
      (
        await t.sql.query<{ kind: string; user_id: string }>(
          `SELECT kind, user_id FROM notifications
            WHERE bid_id = $1 AND (subject LIKE '%(amendment v2)%' OR body LIKE '%(amendment v2)%')
            ORDER BY created_at, kind, user_id`,
          [bidId],
        )
      ).rows;
    expect(await notices()).toEqual([]); // a draft announces nothing
    await submit(bidId, 2);
    const submitted = await notices();
    expect(submitted.map((n) => n.kind)).toContain('bid.submitted');
    expect(submitted.map((n) => n.user_id)).toContain(officer.user.id);
    expect(submitted.map((n) => n.user_id)).not.toContain(researcher.user.id);
    await screen(bidId, 2, 'approve').expect(200);
    const kinds = (await notices()).filter((n) => n.user_id === researcher.user.id).map((n) => n.kind);
    expect(kinds.sort()).toEqual(['agreement.ready', 'bid.decided']);
    expect((await notices()).map((n) => n.kind)).not.toContain('bid.quorum_reached');
  });

  it('an approved amendment the applicant declines: withdrawn, its agreement version closed unaccepted, v1 in force, a new amendment may follow', async () => {
    const bidId = await activeBid();
    await amend(bidId, { reason: 'We finish six months early', durationMonths: 6 }).expect(201);
    await submit(bidId, 2);
    await screen(bidId, 2, 'approve').expect(200);
    const declined = await t.http
      .post(`/api/bids/${bidId}/amendments/2/withdraw`)
      .set(researcher.auth)
      .send({ remarks: 'We keep the full term after all' })
      .expect(200);
    expect(declined.body).toMatchObject({ version: 2, state: 'withdrawn' });
    const { rows } = await t.sql.query(
      `SELECT bid_version, status FROM agreements WHERE bid_id = $1 ORDER BY version`,
      [bidId],
    );
    expect(rows).toEqual([
      { bid_version: 1, status: 'active' },
      { bid_version: 2, status: 'closed' },
    ]);
    const bid = await t.http.get(`/api/bids/${bidId}`).set(researcher.auth).expect(200);
    expect(bid.body).toMatchObject({ version: 1, durationMonths: 12, pendingAmendment: null });
    // Nothing is offered any more, and another amendment may be opened.
    const accept = await t.http.post(`/api/bids/${bidId}/agreement/accept`).set(researcher.auth);
    expect(accept.status).toBe(409);
    await amend(bidId, { reason: 'We finish three months early', durationMonths: 9 }).expect(201);
    // The approval was decided and signed into the register's log: its line stays on the register
    // (it vanished, and verify-register then reported tampering: an outsider's probe).
    const get = async (path: string) => (await t.http.get(path).expect(200)).body;
    const register = await get('/api/register');
    expect(
      register.filter((l: { type: string; bidId: string }) => l.type === 'amendment' && l.bidId === bidId),
    ).toHaveLength(1);
    expect((await verifyRegister(get)).problems).toEqual([]);
  });
  it('a revoked request takes its open amendment with it: withdrawn, in the history, no longer in any queue', async () => {
    const bidId = await activeBid();
    await amend(bidId, { reason: 'We finish six months early', durationMonths: 6 }).expect(201);
    await submit(bidId, 2);
    const admin = await t.as('admin');
    await t.http
      .post(`/api/bids/${bidId}/revoke`)
      .set(admin.auth)
      .send({ reason: 'breach of conditions' })
      .expect(200);
    const v2 = await t.http.get(`/api/bids/${bidId}/amendments/2`).set(researcher.auth).expect(200);
    expect(v2.body.state).toBe('withdrawn');
    const bid = await t.http.get(`/api/bids/${bidId}`).set(researcher.auth).expect(200);
    expect(bid.body).toMatchObject({ state: 'revoked', pendingAmendment: null });
    const events = await t.http.get(`/api/bids/${bidId}/events`).set(researcher.auth).expect(200);
    const actions = (events.body as { action: string }[]).map((e) => e.action);
    expect(actions).toContain('amend_withdraw');
    // On the audit trail too, like every amendment's change of state (it was not: an outsider's probe).
    const { rows: trail } = await t.sql.query(
      `SELECT actor_id, details FROM audit_log WHERE action = 'bid.amendment.withdraw' AND bid_id = $1`,
      [bidId],
    );
    expect(trail).toEqual([
      {
        actor_id: admin.user.id,
        details: { version: 2, from: 'submitted', to: 'withdrawn', because: 'revoked' },
      },
    ]);
    // Nothing can act on it any more.
    expect((await screen(bidId, 2, 'accept')).status).toBe(409);
  });

  it('an approved amendment whose request is revoked before the applicant accepts: its register line stays, verify-register agrees', async () => {
    const bidId = await activeBid();
    await amend(bidId, { reason: 'We finish six months early', durationMonths: 6 }).expect(201);
    await submit(bidId, 2);
    await screen(bidId, 2, 'approve').expect(200);
    const admin = await t.as('admin');
    await t.http.post(`/api/bids/${bidId}/revoke`).set(admin.auth).send({ reason: 'breach' }).expect(200);
    const get = async (path: string) => (await t.http.get(path).expect(200)).body;
    const lines = (await get('/api/register')).filter(
      (l: { type: string; bidId: string }) => l.type === 'amendment' && l.bidId === bidId,
    );
    expect(lines).toHaveLength(1);
    expect((await verifyRegister(get)).problems).toEqual([]);
  });

  it('reviewersSeeVersion and its SQL form agree on every kind of version and scope', async () => {
    const at = new Date('2026-01-01T00:00:00Z');
    for (const baseVersion of [null, 1])
      for (const submittedAt of [null, at])
        for (const reviewRound of [null, 1])
          for (const panel of [false, true]) {
            const { rows } = await t.sql.query(
              `SELECT ${reviewersSeeVersionSql('v', '$4::boolean')} AS sees
                 FROM (SELECT $1::int AS base_version, $2::timestamptz AS submitted_at, $3::int AS review_round) v`,
              [baseVersion, submittedAt, reviewRound, panel],
            );
            const ts = reviewersSeeVersion(
              { baseVersion, submittedAt, reviewRound },
              panel ? 'panel' : 'all',
            );
            expect(rows[0].sees, JSON.stringify({ baseVersion, submittedAt, reviewRound, panel })).toBe(ts);
          }
  });

  it("a draft amendment's history is the applicant's alone: reviewers read none of its events until it is submitted", async () => {
    const bidId = await activeBid();
    await amend(bidId, { reason: 'We finish six months early', durationMonths: 6 }).expect(201);
    const auditor = await t.as('auditor');
    const actions = async (who: As) =>
      ((await t.http.get(`/api/bids/${bidId}/events`).set(who.auth).expect(200)).body as { action: string }[])
        .map((e) => e.action)
        .filter((a) => a.startsWith('amend_'));
    expect(await actions(researcher)).toEqual(['amend_create']);
    for (const who of [officer, panel[0], auditor]) expect(await actions(who)).toEqual([]);
    await submit(bidId, 2);
    expect(await actions(officer)).toEqual(['amend_create', 'amend_submit']);
    // The panel reads it once it is screened into review, as it reads the amendment itself.
    expect(await actions(panel[0])).toEqual([]);
    await screen(bidId, 2, 'accept').expect(200);
    expect(await actions(panel[0])).toEqual(['amend_create', 'amend_submit', 'amend_screen_accept']);
  });
});
