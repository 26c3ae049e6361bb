import { getDataSourceToken } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '@custodian/core';
import { SESSION_COOKIE } from '@custodian/portal';
import { ReleaseEngine } from '@custodian/release';
import { ReleaseKeys } from '../libs/release/src/keys';
import { VerificationFailure, verifyRelease } from '../libs/release/src/verifier/verify-release';
import { createTestApp, TestApp, TEST_PASSWORD } from '@custodian/testing';
import { download, parseCsvGz, seedPractice } from './release-helpers';

type As = Awaited<ReturnType<TestApp['as']>>;

/**
 * Issue #25: a differencing guard for aggregates. Two aggregate releases to one organisation,
 * with the same dimensions and nested cohorts (practice A, then practices A and B), each obeyed
 * the small-number rule alone; subtracting them showed the 3 women of 40-44 at practice B. The
 * second release now hides every cell (and every fully shown row, column or total) whose exact
 * count differs from the first's by 1-7, protects them again by secondary suppression, and says so
 * in the manifest, the register and the audit trail; when that would hide more than half of the
 * table it is refused (AGG_DIFFERENCING), with a reason the officer reads.
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

  it('nested cohorts (practice A, then A and B): no cell or margin shown in both differs by 1-7', async () => {
    const first = await release(['A81001'], ['sex', 'age_band']);
    expect(first.failureReason ?? null).toBeNull();
    const second = await release(['A81001', 'A81002'], ['sex', 'age_band']);
    expect(second.failureReason ?? null).toBeNull();
    const a = await table(first.id);
    const b = await table(second.id);
    // The exact counts, known from the seed.
    const exact = (sex: string, b5: string, withB: boolean) =>
      100 + (withB && sex === 'F' && b5 === band(42) ? 3 : 0);
    const key = (r: Record<string, string>) => `${r.sex}|${r.age_band}`;
    const shownA = new Map(a.map((r) => [key(r), r.patients]));
    expect(a.every((r) => r.patients !== '*')).toBe(true);
    // The cell holding practice B's 3 women is hidden in the second table.
    expect(b.find((r) => r.sex === 'F' && r.age_band === band(42))!.patients).toBe('*');
    for (const r of b) {
      if (r.patients === '*' || shownA.get(key(r)) === '*') continue;
      const d = Math.abs(exact(r.sex, r.age_band, true) - exact(r.sex, r.age_band, false));
      expect(d === 0 || d > 7).toBe(true);
    }
    // Margins (rows, columns, the total) shown whole in both tables do not differ by 1-7.
    const margins = (rows: Record<string, string>[], withB: boolean) => {
      const m = new Map<string, { n: number; shown: boolean }>();
      for (const r of rows)
        for (const g of [`sex=${r.sex}`, `age_band=${r.age_band}`, 'total']) {
          const x = m.get(g) ?? { n: 0, shown: true };
          x.n += exact(r.sex, r.age_band, withB);
          x.shown &&= r.patients !== '*';
          m.set(g, x);
        }
      return m;
    };
    const ma = margins(a, false);
    for (const [g, x] of margins(b, true)) {
      const y = ma.get(g)!;
      if (!x.shown || !y.shown) continue;
      const d = Math.abs(x.n - y.n);
      expect(d === 0 || d > 7, `margin ${g}`).toBe(true);
    }
    // The manifest says which cells the guard hid and against which release.
    const manifest = JSON.parse(
      (await download(t, researcher.auth, second.id, 'manifest.json')).body.toString('utf8'),
    );
    expect(manifest.aggregateDifferencing.comparedWith).toEqual([first.id]);
    expect(manifest.aggregateDifferencing.hiddenCells).toContainEqual({ sex: 'F', age_band: band(42) });
    // The register and the audit trail say so.
    const register = (await t.http.get('/api/register').expect(200)).body as {
      releaseId: string;
      differencingGuard: string | null;
    }[];
    expect(register.find((l) => l.releaseId === second.id)!.differencingGuard).toMatch(
      /differencing guard applied/,
    );
    expect(register.find((l) => l.releaseId === first.id)!.differencingGuard).toBeNull();
    const { rows: audit } = await t.sql.query(
      `SELECT details FROM audit_log WHERE subject_id = $1 AND action = 'release.aggregate_differencing'`,
      [second.id],
    );
    expect(audit).toHaveLength(1);
    expect(audit[0].details).toMatchObject({ attempt: 1, decision: 'suppressed', comparedWith: [first.id] });
    // The officer's release page and the public register page say so.
    expect(await portalPage(`/data-releases/${second.id}`)).toMatch(
      /Differencing guard applied .* Sex F, Age band 40-44/,
    );
    expect((await t.http.get('/public-register').expect(200)).text).toMatch(
      /Differencing guard applied: \d+ cell/,
    );

    // The verifier re-checks the rule against the ledger (its own SQL): the published table passes;
    // an earlier count that would differ by 3 from a cell both show, or a ledger that does not
    // describe the file, fails.
    const db = t.app.get<DataSource>(getDataSourceToken());
    const config = t.app.get<AppConfig>(APP_CONFIG);
    const deps = {
      keys: t.app.get(ReleaseKeys),
      anonK: config.anonK,
      anonMaxSuppression: config.anonMaxSuppression,
      aggMinPopulation: config.aggMinPopulation,
    };
    const dir = t.app.get(ReleaseEngine).dirOf(second.id);
    const ok = await verifyRelease(dir, { id: second.id }, db, deps);
    expect(ok.checks.join('\n')).toMatch(/aggregate differencing: .* \(1 compared\)/);
    const bothShown = b.find((r) => r.patients !== '*' && shownA.get(key(r)) !== '*')!;
    const shift = (releaseId: string, by: number) =>
      t.sql.query(
        `UPDATE release_aggregate_cells SET n = n + $4
          WHERE release_id = $1 AND cell = jsonb_build_object('sex', $2::text, 'age_band', $3::text)`,
        [releaseId, bothShown.sex, bothShown.age_band, by],
      );
    await shift(first.id, -3);
    const err = await verifyRelease(dir, { id: second.id }, db, deps).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VerificationFailure);
    expect((err as Error).message).toContain(
      `aggregate differencing: aggregate.csv.gz: a cell shown in this table and in release ${first.id} differs by 3 persons`,
    );
    await shift(first.id, 3);
    await shift(second.id, 20);
    const lying = await verifyRelease(dir, { id: second.id }, db, deps).catch((e: unknown) => e);
    expect((lying as Error).message).toMatch(/the file does not show what the cell ledger recorded/);
    await shift(second.id, -20);
  });

  it('when the guard would hide more than half of the table, the release is refused and the officer reads why', async () => {
    const first = await release(['A81001'], ['sex']);
    expect(first.state).toBe('completed');
    const second = await release(['A81001', 'A81002'], ['sex']);
    expect(second.state).toBe('failed');
    expect(second.failureReason).toMatch(/^AGG_DIFFERENCING: /);
    expect(second.files).toEqual([]);
    const { rows: audit } = await t.sql.query(
      `SELECT details FROM audit_log WHERE subject_id = $1 AND action = 'release.aggregate_differencing'`,
      [second.id],
    );
    expect(audit[0]?.details).toMatchObject({ attempt: 1, decision: 'refused', comparedWith: [first.id] });
    // The researcher reads the reason, with no count of persons or of the cells it would hide (an
    // outsider read "2 of its 2" as: both areas hold 1-7 persons more); the officer reads the counts.
    const view = (await t.http.get(`/api/releases/${second.id}`).set(researcher.auth).expect(200)).body;
    expect(view.failureReason).toMatch(/^AGG_DIFFERENCING: /);
    expect(view.failureReason).not.toMatch(/\d+ of its \d+/);
    expect(second.failureReason).toMatch(/would hide \d+ of its \d+ shown cells/);
    expect(await portalPage(`/data-releases/${second.id}`)).toMatch(
      /The release failed The table could be subtracted[\s\S]*Reference for the service desk: AGG_DIFFERENCING/,
    );
  });
});
