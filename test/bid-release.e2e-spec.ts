import { createHash } from 'node:crypto';
import { AgreementsService } from '@custodian/bids';
import { createTestApp, TestApp } from '@custodian/testing';
import { addEvent, addObjection, addPatient, download, parseCsvGz, seedPractice } from './release-helpers';

type As = Awaited<ReturnType<TestApp['as']>>;

/**
 * The whole path through HTTP (SPEC §4-§7): a bid approved by the panel and accepted by the
 * applicant is released by a release officer who neither voted nor belongs to the applicant; the
 * recipient downloads; revocation stops downloads at once and destroys the files.
 */
describe('POST /api/bids/:id/releases', () => {
  let t: TestApp;
  let researcher: As;
  let officer: As;
  let votingOfficer: As;
  let panel: As[];
  let admin: As;
  let centreId: string;

  beforeAll(async () => {
    t = await createTestApp({ PANEL_QUORUM: '3' });
    centreId = (await t.factory.organisation({ name: 'Centre', kind: 'public_body' })).id;
    researcher = await t.as('researcher');
    officer = await t.as('release_officer', { organisationId: centreId });
    votingOfficer = await t.as(['panel_member', 'release_officer'], { organisationId: centreId });
    panel = [
      votingOfficer,
      await t.as('panel_member', { organisationId: centreId }),
      await t.as('panel_member', { organisationId: centreId }),
    ];
    admin = await t.as('admin');
    await seedPractice(t.sql);
    for (let i = 0; i < 6; i++) {
      const id = await addPatient(t.sql, { nhs: String(9_100_000_000 + i) });
      await addEvent(t.sql, id);
    }
    await addObjection(t.sql, String(9_100_000_000 + 5), 'type2');
  });
  afterAll(() => t?.close());

  async function activeBid(): Promise<string> {
    return (await t.factory.bid('active', { researcher, officer: officer, panel })).id;
  }

  async function waitCompleted(releaseId: string) {
    for (let i = 0; i < 300; i++) {
      const res = await t.http.get(`/api/releases/${releaseId}`).set(officer.auth).expect(200);
      if (res.body.state === 'completed' || res.body.state === 'failed') return res.body;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('release did not finish');
  }

  it('refuses bids that are not active, with 409', async () => {
    const bid = await t.http
      .post('/api/bids')
      .set(researcher.auth)
      .send({
        title: 'Draft bid',
        purpose: 'Counting people by sex',
        publicBenefit: 'Better planning',
        legalBasis: 'none',
        requestedTier: 'aggregate',
        datasets: [{ dataset: 'gp', fields: ['sex'] }],
        aggregation: { dimensions: ['sex'] },
        durationMonths: 6,
      })
      .expect(201);
    // A draft is not visible to reviewers: answered as every bid route answers an unknown bid (the
    // code was BID_NOT_FOUND here alone, NOT_FOUND everywhere else; an outsider's probe, 2026-12-06).
    const draft = await t.http.post(`/api/bids/${bid.body.id}/releases`).set(officer.auth).expect(404);
    const other = await t.http.get(`/api/bids/${bid.body.id}`).set(officer.auth).expect(404);
    expect(draft.body).toMatchObject({ code: 'NOT_FOUND', message: 'Bid not found' });
    expect(draft.body.code).toBe(other.body.code);
    await t.http.post(`/api/bids/${bid.body.id}/submit`).set(researcher.auth).expect(200);
    const res = await t.http.post(`/api/bids/${bid.body.id}/releases`).set(officer.auth).expect(409);
    expect(res.body.code).toBe('BID_NOT_ACTIVE');
  });

  it('releases an active bid once at a time, to its recipients, and stops when the agreement is revoked', async () => {
    const bidId = await activeBid();

    // Segregation of duties: a release officer who voted, an administrator, a researcher.
    const voted = await t.http.post(`/api/bids/${bidId}/releases`).set(votingOfficer.auth).expect(403);
    expect(voted.body.code).toBe('SEGREGATION_OF_DUTIES');
    await t.http.post(`/api/bids/${bidId}/releases`).set(admin.auth).expect(403);
    await t.http.post(`/api/bids/${bidId}/releases`).set(researcher.auth).expect(403);

    // Two requests at once: one release.
    const both = await Promise.all(
      [0, 1].map(() => t.http.post(`/api/bids/${bidId}/releases`).set(officer.auth)),
    );
    expect(both.map((r) => r.status).sort()).toEqual([202, 409]);
    const accepted = both.find((r) => r.status === 202)!;
    expect(accepted.body).toEqual({ id: expect.any(String), state: 'queued' });
    expect(both.find((r) => r.status === 409)!.body.code).toBe('RELEASE_IN_PROGRESS');

    const done = await waitCompleted(accepted.body.id);
    expect(done).toMatchObject({ state: 'completed', tier: 'pseudonymised' });
    const gp = done.files.find((f: { name: string }) => f.name === 'gp.csv.gz');
    const file = await download(t, researcher.auth, accepted.body.id, 'gp.csv.gz');
    expect(file.status).toBe(200);
    expect(createHash('sha256').update(file.body).digest('hex')).toBe(gp.sha256);
    const csv = parseCsvGz(file.body);
    expect(csv.header).toEqual(['pseudo_id', 'birth_year_month', 'code', 'event_date']);
    expect(csv.rows).toHaveLength(5); // the Type 2 objector is not there

    // The recipient sees no exclusion counts; staff do.
    const asRecipient = await t.http
      .get(`/api/releases/${accepted.body.id}`)
      .set(researcher.auth)
      .expect(200);
    expect(JSON.stringify(asRecipient.body)).not.toMatch(/excluded/i);

    const register = await t.http.get('/api/register').expect(200);
    const line = register.body.find(
      (l: { type: string; releaseId: string }) => l.type === 'release' && l.releaseId === accepted.body.id,
    );
    expect(line).toMatchObject({
      bidId,
      tier: 'pseudonymised',
      legalBasis: 's251',
      objectionsApplied: true,
      filesDestroyedAt: null,
    });

    await t.http
      .post(`/api/bids/${bidId}/revoke`)
      .set(admin.auth)
      .send({ reason: 'breach of conditions' })
      .expect(200);
    const refused = await download(t, researcher.auth, accepted.body.id, 'gp.csv.gz');
    expect(refused.status).toBe(409);
    for (let i = 0; i < 100; i++) {
      const { rows: r } = await t.sql.query(`SELECT destroyed_at FROM releases WHERE id = $1`, [
        accepted.body.id,
      ]);
      if (r[0].destroyed_at) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    const after = await t.http.get('/api/register').expect(200);
    const destroyed = after.body.find((l: { releaseId: string }) => l.releaseId === accepted.body.id);
    expect(destroyed.filesDestroyedAt).toEqual(expect.any(String));
    const { rows: audit } = await t.sql.query(`SELECT action FROM audit_log WHERE bid_id = $1 ORDER BY id`, [
      bidId,
    ]);
    expect(audit.map((a) => a.action)).toEqual(
      expect.arrayContaining([
        'release.requested',
        'release.completed',
        'release.downloaded',
        'release.destroyed',
        'release.denied',
      ]),
    );
  });

  it("an organisation's releases are made one at a time, across its bids (a review: two made at once were never compared)", async () => {
    const [a, b] = [await activeBid(), await activeBid()];
    // Asked for together: one release, whichever bid.
    const both = await Promise.all(
      [a, b].map((id) => t.http.post(`/api/bids/${id}/releases`).set(officer.auth)),
    );
    expect(both.map((r) => r.status).sort()).toEqual([202, 409]);
    const refused = both.find((r) => r.status === 409)!;
    expect(refused.body.code).toBe('RELEASE_IN_PROGRESS');
    const first = both.find((r) => r.status === 202)!.body.id as string;
    expect(refused.body.details).toEqual({ releaseId: first });
    expect(refused.body.message).toMatch(/another of the organisation's bids/);
    // The refusal leaves an audit entry, naming the release it waits for.
    const refusedBid = both[0].status === 409 ? a : b;
    const { rows: denied } = await t.sql.query(
      `SELECT details FROM audit_log WHERE action = 'release.denied' AND bid_id = $1`,
      [refusedBid],
    );
    expect(denied.map((r) => r.details)).toEqual([{ code: 'RELEASE_IN_PROGRESS', releaseId: first }]);
    // Once it has completed, the other bid's release is made.
    expect((await waitCompleted(first)).state).toBe('completed');
    const next = await t.http.post(`/api/bids/${refusedBid}/releases`).set(officer.auth).expect(202);
    expect((await waitCompleted(next.body.id)).state).toBe('completed');
  });

  it('builds the spec once, inside the transaction that locks the bid and writes the release', async () => {
    const bidId = await activeBid();
    const agreements = t.app.get(AgreementsService);
    const seen = vi.spyOn(agreements, 'findReleasable');
    try {
      const res = await t.http.post(`/api/bids/${bidId}/releases`).set(officer.auth).expect(202);
      expect(seen).toHaveBeenCalledTimes(1);
      await waitCompleted(res.body.id);
      // A refusal from inside that transaction is still audited, and writes nothing.
      seen.mockClear();
      const voted = await t.http.post(`/api/bids/${bidId}/releases`).set(votingOfficer.auth).expect(403);
      expect(voted.body.code).toBe('SEGREGATION_OF_DUTIES');
      expect(seen).toHaveBeenCalledTimes(1);
      const { rows } = await t.sql.query(
        `SELECT count(*)::int AS n FROM audit_log WHERE bid_id = $1 AND action = 'release.denied'`,
        [bidId],
      );
      expect(rows[0].n).toBe(1);
    } finally {
      seen.mockRestore();
    }
  });
});
