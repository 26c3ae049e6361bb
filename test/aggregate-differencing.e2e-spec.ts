import { getDataSourceToken } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { SESSION_COOKIE } from '@custodian/portal';
import { ReleaseEngine } from '@custodian/release';
import { VerificationFailure, verifyRelease } from '../libs/release/src/verifier/verify-release';
import { createTestApp, TestApp, TEST_PASSWORD } from '@custodian/testing';
import { download, parseCsvGz, seedPractice, verifierDeps } from './release-helpers';

type As = Awaited<ReturnType<TestApp['as']>>;

/**
 * Issues #25 and #27: a differencing guard for aggregates. Two aggregate releases to one
 * organisation, with nested cohorts (practice A, then practices A and B), each obeyed the
 * small-number rule alone; subtracting them showed the 3 women of 40-44 at practice B. The guard
 * hid such cells, and refused a table it would hide half of — and an attacker's probe (2026-12-07)
 * read the difference from that answer (a one-cell table one person smaller than an earlier one was
 * refused; an equal one released), and released one count by other dimensions, which were never
 * compared. A cell within 7 persons of an earlier table's now shows that table's figure, whatever
 * the dimensions; nothing is hidden or refused for it, and which cells were held is staff-only.
 */
describe('aggregate releases to one organisation cannot be subtracted (#25)', () => {
  let t: TestApp;
  let researcher: As;
  let officer: As;
  let panel: As[];
  const BANDS = [32, 42, 52, 62, 72];
  const band = (age: number) => `${age - (age % 5)}-${age - (age % 5) + 4}`;

  beforeAll(async () => {
    t = await createTestApp({ PANEL_QUORUM: '3' });
    const centre = (await t.factory.organisation({ name: 'Centre', kind: 'public_body' })).id;
    researcher = await t.as('researcher');
    officer = await t.as('release_officer', { organisationId: centre });
    panel = [
      await t.as('panel_member', { organisationId: centre }),
      await t.as('panel_member', { organisationId: centre }),
      await t.as('panel_member', { organisationId: centre }),
    ];
    await seedPractice(t.sql, 'A81001');
    await seedPractice(t.sql, 'A81002');
    // Practice A81001: 100 persons in each sex × age band cell (ages mid-band); A81002: 3 women
    // of 42. Every person has one GP event.
    await t.sql.query(
      `INSERT INTO patients (nhs_number, birth_date, sex, postcode, ethnicity, practice_ods, source_id)
       SELECT (9400000000 + g)::text,
              (current_date - make_interval(years => ($1::int[])[1 + (g / 2) % 5], months => 6))::date,
              CASE WHEN g % 2 = 0 THEN 'F' ELSE 'M' END, 'LS1 4AP', 'A', 'A81001', g::text
         FROM generate_series(0, 999) g`,
      [BANDS],
    );
    await t.sql.query(
      `INSERT INTO patients (nhs_number, birth_date, sex, postcode, ethnicity, practice_ods, source_id)
       SELECT (9500000000 + g)::text, (current_date - make_interval(years => 42, months => 6))::date,
              'F', 'LS1 4AP', 'A', 'A81002', 'b' || g
         FROM generate_series(1, 3) g`,
    );
    await t.sql.query(
      `INSERT INTO gp_events (patient_id, practice_ods, resource_type, resource_id, code_system, code, event_date)
       SELECT p.id, p.practice_ods, 'condition', 'c' || p.nhs_number, 'snomed', '22298006', DATE '2012-03-04'
         FROM patients p`,
    );
  });
  afterAll(() => t?.close());

  const release = async (practices: string[], dimensions: string[]) => {
    const bid = await t.factory.bid('active', {
      researcher,
      officer,
      panel,
      body: {
        requestedTier: 'aggregate',
        legalBasis: 'none',
        legalBasisReference: undefined,
        datasets: [{ dataset: 'gp', fields: ['code'] }],
        aggregation: { dimensions },
        cohort: { practices },
      },
    });
    const res = await t.http.post(`/api/bids/${bid.id}/releases`).set(officer.auth).expect(202);
    for (let i = 0; i < 300; i++) {
      const view = await t.http.get(`/api/releases/${res.body.id}`).set(officer.auth).expect(200);
      if (view.body.state === 'completed' || view.body.state === 'failed') return view.body;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('release did not finish');
  };
  // The officer's portal session (the release page reads the API as the officer).
  const cookieOf = (res: { headers: Record<string, unknown> }): string | undefined =>
    ([] as string[])
      .concat((res.headers['set-cookie'] as string[] | string | undefined) ?? [])
      .find((c) => c.startsWith(`${SESSION_COOKIE}=`))
      ?.split(';')[0];
  const portalPage = async (path: string) => {
    const page = await t.http.get('/sign-in').expect(200);
    const signedIn = await t.http
      .post('/sign-in')
      .set('cookie', cookieOf(page)!)
      .type('form')
      .send({
        _csrf: /name="_csrf" value="([^"]+)"/.exec(page.text)?.[1] ?? '',
        email: (officer.user as unknown as { email: string }).email,
        password: TEST_PASSWORD,
      })
      .expect(303);
    const html = (await t.http.get(path).set('cookie', cookieOf(signedIn)!).expect(200)).text;
    return html.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ');
  };
  const table = async (id: string) =>
    parseCsvGz((await download(t, researcher.auth, id, 'aggregate.csv.gz')).body).rows;

  it('nested cohorts (practice A, then A and B): the cell 3 persons larger shows the first table’s figure', async () => {
    const first = await release(['A81001'], ['sex', 'age_band']);
    expect(first.failureReason ?? null).toBeNull();
    const second = await release(['A81001', 'A81002'], ['sex', 'age_band']);
    expect(second.failureReason ?? null).toBeNull();
    const a = await table(first.id);
    const b = await table(second.id);
    // Every cell holds 100 persons in the first table, and practice B adds 3 women of 40-44: the
    // second table reads exactly as the first (103 shows the first table's 100, not 105).
    expect(a.every((r) => r.patients === '100')).toBe(true);
    expect(b).toEqual(a);
    // The manifest states the rule and what was compared, never which cells were held.
    const manifest = JSON.parse(
      (await download(t, researcher.auth, second.id, 'manifest.json')).body.toString('utf8'),
    );
    expect(manifest.aggregateDifferencing.comparedWith).toEqual([first.id]);
    expect(manifest.aggregateDifferencing.rule).toMatch(/within 7 persons/);
    expect(JSON.stringify(manifest.aggregateDifferencing)).not.toMatch(/hidden|held"|40-44/);
    // The register and the audit trail say so (the audit, staff-only, how many cells were held).
    const register = (await t.http.get('/api/register').expect(200)).body as {
      releaseId: string;
      differencingGuard: string | null;
    }[];
    expect(register.find((l) => l.releaseId === second.id)!.differencingGuard).toMatch(
      /differencing guard applied: compared with 1 earlier aggregate release/,
    );
    expect(register.find((l) => l.releaseId === first.id)!.differencingGuard).toBeNull();
    const { rows: audit } = await t.sql.query(
      `SELECT details FROM audit_log WHERE subject_id = $1 AND action = 'release.aggregate_differencing'`,
      [second.id],
    );
    expect(audit).toHaveLength(1);
    expect(audit[0].details).toMatchObject({ attempt: 1, decision: 'held', comparedWith: [first.id] });
    expect(audit[0].details.cellsHeld).toBe(a.length);
    expect(await portalPage(`/data-releases/${second.id}`)).toMatch(
      /Differencing guard applied Compared with 1 earlier aggregate release/,
    );
    expect((await t.http.get('/public-register').expect(200)).text).toMatch(
      /Differencing guard applied: compared with/,
    );

    // The verifier re-checks the rule against the ledger (its own SQL): the published table passes;
    // a held cell the ledger says is not held, or a ledger count the recount does not find, fails.
    const db = t.app.get<DataSource>(getDataSourceToken());
    const deps = verifierDeps(t);
    const dir = t.app.get(ReleaseEngine).dirOf(second.id);
    const ok = await verifyRelease(dir, { id: second.id }, db, deps);
    expect(ok.checks.join('\n')).toMatch(/aggregate differencing: .* \(1 compared\)/);
    const women = `jsonb_build_object('sex', 'F', 'age_band', '${band(42)}')`;
    const saved = (
      await t.sql.query(
        `SELECT held_from, held_i FROM release_aggregate_cells WHERE release_id = $1 AND cell = ${women}`,
        [second.id],
      )
    ).rows[0];
    await t.sql.query(
      `UPDATE release_aggregate_cells SET held_from = NULL, held_i = NULL WHERE release_id = $1 AND cell = ${women}`,
      [second.id],
    );
    const err = await verifyRelease(dir, { id: second.id }, db, deps).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VerificationFailure);
    expect((err as Error).message).toContain(
      `aggregate differencing: aggregate.csv.gz: row ${b.findIndex((r) => r.sex === 'F' && r.age_band === band(42)) + 1}: a cell within 7 persons of the same cell of release ${first.id}`,
    );
    await t.sql.query(
      `UPDATE release_aggregate_cells SET held_from = $2, held_i = $3, n = n + 2 WHERE release_id = $1 AND cell = ${women}`,
      [second.id, saved.held_from, saved.held_i],
    );
    const lying = await verifyRelease(dir, { id: second.id }, db, deps).catch((e: unknown) => e);
    expect((lying as Error).message).toMatch(/a cell's count differs from the verifier's recount/);
    await t.sql.query(
      `UPDATE release_aggregate_cells SET n = n - 2 WHERE release_id = $1 AND cell = ${women}`,
      [second.id],
    );
    await verifyRelease(dir, { id: second.id }, db, deps);
  });

  it('the guard answers alike whether a table differs by 3 persons or by none, and whatever its dimensions (an attacker’s probe)', async () => {
    // One-cell tables (every person lives in LS; every event is of 2012). Before: the second table,
    // 3 persons smaller, was refused (AGG_DIFFERENCING) or showed `*`, while an equal one was
    // released — the answer was the difference. And the same count by `year` was never compared.
    const withB = await release(['A81001', 'A81002'], ['postcode_area']);
    const smaller = await release(['A81001'], ['postcode_area']);
    const equal = await release(['A81001', 'A81002'], ['postcode_area']);
    const byYear = await release(['A81001'], ['year']);
    for (const r of [withB, smaller, equal, byYear])
      expect([r.state, r.failureReason ?? null]).toEqual(['completed', null]);
    expect(await table(withB.id)).toEqual([{ postcode_area: 'LS', patients: '1005' }]);
    expect(await table(smaller.id)).toEqual([{ postcode_area: 'LS', patients: '1005' }]);
    expect(await table(equal.id)).toEqual([{ postcode_area: 'LS', patients: '1005' }]);
    // 1,000 persons by year: no earlier `year` table, so the nearest cell of any table holds it.
    expect(await table(byYear.id)).toEqual([{ year: '2012', patients: '1005' }]);
    // The researcher reads the same manifest rule for all of them; no failure reason anywhere.
    const view = (await t.http.get(`/api/releases/${smaller.id}`).set(researcher.auth).expect(200)).body;
    expect(view.failureReason ?? null).toBeNull();
    expect(await portalPage(`/data-releases/${smaller.id}`)).not.toMatch(/AGG_DIFFERENCING|hidden/);
  });
});
