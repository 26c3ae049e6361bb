import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { verifyRegister } from '@custodian/register';
import { createTestApp, TestApp } from '@custodian/testing';
import { seedDemo } from '../apps/api/src/demo';
import { waitForRelease } from './release-helpers';

/** The demo seed gives every transparency page real figures (#24). */
describe('transparency on the demo data', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t?.close());

  it('has a release with its risk report on a verifiable register, clocks and statistics', async () => {
    await seedDemo(t.app, {
      ...t.config,
      demoSeed: true,
      stateDir: mkdtempSync(path.join(tmpdir(), 'demo-')),
    });
    const { rows } = await t.sql.query(`SELECT id FROM releases`);
    expect(rows).toHaveLength(1);
    const done = await waitForRelease(t, rows[0].id, 120_000);
    expect(done.failure_reason).toBeNull();
    const lines = (await t.http.get('/api/register').expect(200)).body.filter(
      (l: { type: string }) => l.type === 'release',
    );
    expect(lines).toHaveLength(1);
    expect(lines[0].files.length).toBeGreaterThan(0);
    expect(lines[0].riskReport.files.length + lines[0].riskReport.linkage.length).toBeGreaterThan(0);
    const verified = await verifyRegister(async (p) => (await t.http.get(p).expect(200)).body);
    expect(verified.problems).toEqual([]);
    const stats = (await t.http.get('/api/statistics').expect(200)).body;
    const now = stats.months.at(-1);
    expect(now.received).toBeGreaterThan(0);
    expect(now.releases).toHaveLength(1);
    const officer = await t.as('release_officer');
    const queue = (await t.http.get('/api/queue').set(officer.auth).expect(200)).body;
    expect(queue.length).toBeGreaterThan(0);
  }, 180_000);
});
