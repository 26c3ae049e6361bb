import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { NestFactory } from '@nestjs/core';
import { AgreementsService } from '@custodian/bids';
import { seedDemoBids } from '@custodian/governance';
import { createTestApp, TestApp } from '@custodian/testing';
import { seedDemo } from '../apps/api/src/demo';
import { WorkerModule } from '../apps/worker/src/worker.module';
import { waitForRelease } from './release-helpers';

describe('demo bids', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t?.close());

  it('seeds bids in several states so every role has something to do', async () => {
    const stateDir = mkdtempSync(path.join(tmpdir(), 'demo-'));
    await seedDemo(t.app, { ...t.config, demoSeed: true, stateDir });
    const { rows } = await t.sql.query(
      `SELECT b.state, (SELECT count(*)::int FROM bid_votes v WHERE v.bid_id = b.id) AS votes,
              (SELECT status FROM agreements a WHERE a.bid_id = b.id) AS agreement
         FROM bids b ORDER BY b.created_at`,
    );
    expect(rows).toEqual([
      { state: 'draft', votes: 0, agreement: null },
      { state: 'submitted', votes: 0, agreement: null },
      { state: 'in_review', votes: 1, agreement: null },
      { state: 'approved', votes: 3, agreement: 'offered' },
      { state: 'active', votes: 3, agreement: 'active' },
      { state: 'returned', votes: 0, agreement: null },
      { state: 'draft', votes: 0, agreement: null },
    ]);
    expect(await seedDemoBids(t.app)).toBe(0);

    const creds: { email: string; password: string }[] = JSON.parse(
      readFileSync(path.join(stateDir, 'demo-credentials.json'), 'utf8'),
    );
    const login = async (email: string) => ({
      Authorization: `Bearer ${await t.login(email, creds.find((c) => c.email === email)!.password)}`,
    });
    // The demo admin has a role grant to approve (issue #20): requested by another administrator,
    // since nobody may approve their own request.
    const admin = await login('admin@custodian.example');
    const { rows: adminRow } = await t.sql.query(
      `SELECT id FROM users WHERE email = 'admin@custodian.example'`,
    );
    const grants = (await t.http.get('/api/role-grants').set(admin).expect(200)).body;
    expect(grants).toHaveLength(1);
    expect(grants[0].requestedBy).not.toBe(adminRow[0].id);
    await t.http.post(`/api/role-grants/${grants[0].id}/approve`).set(admin).expect(200);
    const panel2 = await login('panel2@custodian.example');
    const list = (await t.http.get('/api/bids?state=in_review').set(panel2).expect(200)).body;
    expect(list.items).toHaveLength(1);
    await t.http
      .post(`/api/bids/${list.items[0].id}/votes`)
      .set(panel2)
      .send({ decision: 'approve', conflictOfInterest: false })
      .expect(201);
    // The active bid has an amendment in review (#25): the panel sees its diff and votes on it.
    const { rows: amended } = await t.sql.query(
      `SELECT v.bid_id, v.version, v.state, v.scope, b.state AS bid FROM bid_versions v JOIN bids b ON b.id = v.bid_id
        WHERE v.version > 1`,
    );
    expect(amended).toEqual([
      { bid_id: expect.any(String), version: 2, state: 'in_review', scope: 'widening', bid: 'active' },
    ]);
    const amendment = (
      await t.http.get(`/api/bids/${amended[0].bid_id}/amendments/2`).set(panel2).expect(200)
    ).body;
    expect(amendment.diff.map((d: { field: string }) => d.field)).toEqual([
      'datasets.social_care',
      'durationMonths',
    ]);
    await t.http
      .post(`/api/bids/${amended[0].bid_id}/amendments/2/votes`)
      .set(panel2)
      .send({ decision: 'approve', conflictOfInterest: false })
      .expect(201);
    const officer = await login('release.officer@custodian.example');
    const submitted = (await t.http.get('/api/bids?state=submitted').set(officer).expect(200)).body.items;
    await t.http
      .post(`/api/bids/${submitted[0].id}/screen`)
      .set(officer)
      .send({ outcome: 'accept', remarks: 'Complete' })
      .expect(200);
    const researcher = await login('researcher@leeds.example');
    const approved = (await t.http.get('/api/bids?state=approved').set(researcher).expect(200)).body.items;
    await t.http.post(`/api/bids/${approved[0].id}/agreement/accept`).set(researcher).expect(200);
    const register = (await t.http.get('/api/register').expect(200)).body;
    const decisions = register.filter((l: { type: string }) => l.type === 'decision');
    expect(decisions.map((l: { status: string }) => l.status).sort()).toEqual(['active', 'active']);
    // The demo's active bid was released at start (the in-process worker builds it).
    expect(register.filter((l: { type: string }) => l.type === 'release').length).toBeLessThanOrEqual(1);
    // That release (anonymised, HES and social care: k- and kᵐ-anonymity) completes (issue #27).
    const { rows: rels } = await t.sql.query(`SELECT id FROM releases ORDER BY created_at LIMIT 1`);
    expect(rels).toHaveLength(1);
    const done = await waitForRelease(t, rels[0].id, 60_000);
    expect(done).toMatchObject({ state: 'completed', failure_reason: null });
    const { rows: man } = await t.sql.query(`SELECT manifest FROM releases WHERE id = $1`, [rels[0].id]);
    expect(man[0].manifest.kmAnonymity).toMatchObject({ k: 10, m: 2 });
    // The approved aggregate request can be released once its agreement is accepted (a portal
    // walk-through found the demo's table refused: every year under AGG_MIN_POPULATION, 2026-12-06).
    const asked = await t.http.post(`/api/bids/${approved[0].id}/releases`).set(officer).send({}).expect(202);
    expect(await waitForRelease(t, asked.body.id, 60_000)).toMatchObject({
      state: 'completed',
      failure_reason: null,
    });
  }, 90_000); // seeds the whole demo (users hashed with argon2, synthetic data): ~30 s on a loaded machine

  it('the worker process runs the agreements sweep', async () => {
    const worker = await NestFactory.createApplicationContext(WorkerModule.forRoot(t.config, t.db.url), {
      logger: false,
    });
    try {
      await worker.init();
      expect(await worker.get(AgreementsService).sweepExpired()).toEqual([]);
      const { rows } = await t.sql.query(
        `SELECT name, cron FROM pgboss.schedule WHERE name = 'agreements.sweep'`,
      );
      expect(rows).toEqual([{ name: 'agreements.sweep', cron: '*/5 * * * *' }]);
    } finally {
      await worker.close();
    }
  });
});

describe('configurable quorum', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ PANEL_QUORUM: '1' });
  });
  afterAll(() => t?.close());

  it('decides on PANEL_QUORUM non-recused votes', async () => {
    const org = await t.factory.organisation();
    const [researcher, officer, p1, p2] = await Promise.all([
      t.as('researcher', { organisationId: org.id }),
      t.as('release_officer'),
      t.as('panel_member'),
      t.as('panel_member'),
    ]);
    const id = (
      await t.http
        .post('/api/bids')
        .set(researcher.auth)
        .send({
          title: 'Quorum of one',
          purpose: 'A purpose long enough.',
          publicBenefit: 'A benefit long enough.',
          legalBasis: 'none',
          requestedTier: 'anonymised',
          datasets: [{ dataset: 'gp', fields: ['sex', 'code'] }],
          durationMonths: 3,
        })
        .expect(201)
    ).body.id;
    await t.http.post(`/api/bids/${id}/submit`).set(researcher.auth).expect(200);
    await t.http.post(`/api/bids/${id}/screen`).set(officer.auth).send({ outcome: 'accept' }).expect(200);
    const recused = await t.http
      .post(`/api/bids/${id}/votes`)
      .set(p1.auth)
      .send({ decision: 'approve', conflictOfInterest: true })
      .expect(201);
    expect(recused.body).toMatchObject({ quorum: 1, counted: 0, bidState: 'in_review' });
    const res = await t.http
      .post(`/api/bids/${id}/votes`)
      .set(p2.auth)
      .send({ decision: 'reject', conflictOfInterest: false })
      .expect(201);
    expect(res.body).toMatchObject({ quorum: 1, counted: 1, bidState: 'rejected' });
  });
});
