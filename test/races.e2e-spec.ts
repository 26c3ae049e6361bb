import { createTestApp, TestApp } from '@custodian/testing';
import { addEvent, addPatient, seedPractice } from './release-helpers';

type As = Awaited<ReturnType<TestApp['as']>>;

/**
 * Races proven with parallel requests (issue 8). Already covered elsewhere, and not repeated here:
 * - 20 parallel votes → exactly one decision: test/bids.e2e-spec.ts "20 parallel votes produce exactly one decision";
 * - approve vs withdraw, agreement acceptance vs revocation: the race tests of test/bids.e2e-spec.ts;
 * - two release requests at once → [202, 409]: test/bid-release.e2e-spec.ts "releases an active bid once at a time …".
 * Here: many release requests of one bid at once, from several release officers. The design
 * (libs/release/src/bid-releases.service.ts) locks the bid row and refuses a second release while
 * one is queued or running, so exactly one request is accepted (202) and every other one is
 * 409 RELEASE_IN_PROGRESS; one release row and one `release.requested` audit entry exist.
 */
describe('races', () => {
  let t: TestApp;
  let researcher: As;
  let officers: As[];
  let panel: As[];

  beforeAll(async () => {
    t = await createTestApp({ PANEL_QUORUM: '3', RUN_WORKER: 'false' });
    const centre = (await t.factory.organisation({ name: 'Centre', kind: 'public_body' })).id;
    researcher = await t.as('researcher');
    officers = await Promise.all([0, 1, 2].map(() => t.as('release_officer', { organisationId: centre })));
    panel = await Promise.all([0, 1, 2].map(() => t.as('panel_member', { organisationId: centre })));
    await seedPractice(t.sql);
    for (let i = 0; i < 3; i++)
      await addEvent(t.sql, await addPatient(t.sql, { nhs: String(9_200_000_000 + i) }));
  });
  afterAll(() => t?.close());

  // Each bid of an organisation of its own: no worker runs here, so a release stays queued, and an
  // organisation's releases are made one at a time (bid-releases.service.ts).
  async function activeBid(): Promise<string> {
    researcher = await t.as('researcher');
    return (await t.factory.bid('active', { researcher, officer: officers[0], panel })).id;
  }

  it('twelve release requests of one bid at once, from three officers: one accepted, eleven 409', async () => {
    for (let round = 0; round < 3; round++) {
      const bidId = await activeBid();
      const all = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          t.http.post(`/api/bids/${bidId}/releases`).set(officers[i % 3].auth),
        ),
      );
      const statuses = all.map((r) => r.status).sort();
      expect(statuses).toEqual([202, ...Array<number>(11).fill(409)]);
      const accepted = all.find((r) => r.status === 202)!.body.id as string;
      for (const r of all.filter((x) => x.status === 409))
        expect(r.body).toMatchObject({ code: 'RELEASE_IN_PROGRESS', details: { releaseId: accepted } });
      const { rows } = await t.sql.query(`SELECT id FROM releases WHERE bid_id = $1`, [bidId]);
      expect(rows).toEqual([{ id: accepted }]);
      const { rows: audit } = await t.sql.query(
        `SELECT count(*)::int AS n FROM audit_log WHERE action = 'release.requested' AND bid_id = $1`,
        [bidId],
      );
      expect(audit[0].n).toBe(1);
    }
  }, 60_000);

  it('a release officer cannot widen a release: a body is refused (400), the spec is the agreement', async () => {
    const bidId = await activeBid();
    // SPEC §7: unknown properties are refused; the request takes no body (it was ignored: 202).
    const widened = await t.http
      .post(`/api/bids/${bidId}/releases`)
      .set(officers[1].auth)
      .send({
        tier: 'identifiable',
        legalBasis: 'statutory',
        datasets: [{ dataset: 'hes', fields: ['nhs_number', 'postcode', 'date_of_birth'] }],
        recipients: [officers[1].user.id],
      });
    expect(widened.body).toMatchObject({ statusCode: 400, code: 'VALIDATION_FAILED' });
    expect(widened.body.message).toContain('property tier should not exist');
    const none = await t.sql.query(`SELECT count(*)::int AS n FROM releases WHERE bid_id = $1`, [bidId]);
    expect(none.rows[0].n).toBe(0);
    const res = await t.http.post(`/api/bids/${bidId}/releases`).set(officers[1].auth);
    expect(res.status).toBe(202);
    const { rows } = await t.sql.query(`SELECT tier, legal_basis, spec FROM releases WHERE id = $1`, [
      res.body.id,
    ]);
    expect(rows[0]).toMatchObject({ tier: 'pseudonymised', legal_basis: 's251' });
    expect(rows[0].spec.datasets).toEqual([
      { dataset: 'gp', fields: ['nhs_number', 'date_of_birth', 'code', 'event_date'] },
    ]);
    expect(rows[0].spec.recipients).toEqual([researcher.user.id]);
  });
});
