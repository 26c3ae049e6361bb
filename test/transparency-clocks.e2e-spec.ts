import { randomUUID } from 'node:crypto';
import { SESSION_COOKIE } from '@custodian/portal';
import { createTestApp, TEST_PASSWORD, TestApp } from '@custodian/testing';
import { TransparencyService } from '@custodian/transparency';

/**
 * Live clocks and published statistics (#24) on seeded histories with fixed dates.
 *
 * A: submitted 2 Jan, in review 9 Jan (7 days), approved 13 Mar (70 days), agreement accepted
 *    20 Mar, first release 25 Mar (5 days), a second on 26 Mar.
 * B: submitted 5 Jan, returned at screening 8 Jan (3 days).
 * C: submitted 20 Jan, in review 2 Feb (13 days), rejected 20 Feb (31 days).
 * D: submitted Tue 10 Feb, awaiting screening.  E: submitted 20 Feb, awaiting screening.
 */
describe('clocks and statistics (#24)', () => {
  let t: TestApp;
  let researcher: Awaited<ReturnType<TestApp['as']>>;
  let officer: Awaited<ReturnType<TestApp['as']>>;
  const ids: Record<string, string> = {};

  const bid = async (name: string, state: string, history: [string, string | null, string][]) => {
    const id = randomUUID();
    ids[name] = id;
    await t.sql.query(
      `INSERT INTO bids (id, organisation_id, created_by, state, title, purpose, public_benefit, legal_basis, requested_tier,
                         datasets, duration_months, recipients, created_at, submitted_at)
       VALUES ($1, $2, $3, $4, $5, 'p', 'b', 's251', 'pseudonymised', '[]', 12, ARRAY[$3::uuid], '2026-01-01T10:00:00Z', $6)`,
      [
        id,
        researcher.user.organisationId,
        researcher.user.id,
        state,
        `Bid ${name}`,
        state === 'draft' ? null : '2026-01-01T10:00:00Z',
      ],
    );
    for (const [at, from, to] of history)
      await t.sql.query(
        `INSERT INTO bid_events (bid_id, at, action, from_state, to_state) VALUES ($1, $2, 'change', $3, $4)`,
        [id, at, from, to],
      );
    return id;
  };

  beforeAll(async () => {
    t = await createTestApp();
    researcher = await t.as('researcher');
    officer = await t.as('release_officer');
    await bid('A', 'active', [
      ['2026-01-02T09:00:00Z', 'draft', 'submitted'],
      ['2026-01-09T09:00:00Z', 'submitted', 'in_review'],
      ['2026-03-13T09:00:00Z', 'in_review', 'approved'],
      ['2026-03-20T09:00:00Z', 'approved', 'active'],
    ]);
    await bid('B', 'returned', [
      ['2026-01-05T09:00:00Z', 'draft', 'submitted'],
      ['2026-01-08T09:00:00Z', 'submitted', 'returned'],
    ]);
    await bid('C', 'rejected', [
      ['2026-01-20T09:00:00Z', 'draft', 'submitted'],
      ['2026-02-02T09:00:00Z', 'submitted', 'in_review'],
      ['2026-02-20T09:00:00Z', 'in_review', 'rejected'],
    ]);
    await bid('D', 'submitted', [['2026-02-10T09:00:00Z', 'draft', 'submitted']]);
    await bid('E', 'submitted', [['2026-02-20T09:00:00Z', 'draft', 'submitted']]);
    await t.sql.query(
      `INSERT INTO agreements (bid_id, number, year, reference, status, tier, duration_months, start_date, end_date, accepted_at)
       VALUES ($1, 1, 2026, 'DSA-STAT-1', 'active', 'pseudonymised', 12, '2026-03-20', '2027-03-20', '2026-03-20T09:00:00Z')`,
      [ids.A],
    );
    for (const [at, excluded] of [
      ['2026-03-25T09:00:00Z', { persons: { type2_objection: 10, type1_objection: 0 }, included: 90 }],
      ['2026-03-26T09:00:00Z', { persons: { type2_objection: 3 }, included: 97 }],
    ] as const)
      await t.sql.query(
        `INSERT INTO releases (bid_id, state, tier, legal_basis, spec, requested_by, token_seed_enc, completed_at, excluded)
         VALUES ($1, 'completed', 'pseudonymised', 's251', '{}', $2, '\\x00', $3, $4)`,
        [ids.A, officer.user.id, at, JSON.stringify(excluded)],
      );
    await t.sql.query(
      `INSERT INTO objection_register (nhs_number, type, active, effective_on, effective_at)
       SELECT (9500000000 + g)::text, 'type1', true, DATE '2026-01-01', TIMESTAMPTZ '2026-01-01T00:00:00Z' FROM generate_series(1, 12) g
       UNION ALL SELECT (9600000000 + g)::text, 'type2', g <= 3, DATE '2026-01-01', TIMESTAMPTZ '2026-01-01T00:00:00Z' FROM generate_series(1, 5) g`,
    );
  });
  afterAll(() => t?.close());

  it('shows a request in screening against the ten working days, then overdue', async () => {
    const svc = t.app.get(TransparencyService);
    const principal = { ...researcher.user, roles: researcher.user.roles } as never;
    const onTime = await svc.clock(principal, ids.D, new Date('2026-02-20T12:00:00Z'));
    expect(onTime).toMatchObject({
      state: 'submitted',
      stage: {
        since: '2026-02-10T09:00:00.000Z',
        days: 10,
        workingDays: 8,
        target: { name: 'screening', limit: 10, due: '2026-02-24T23:59:59.999Z', overdue: false },
      },
      total: { since: '2026-02-10T09:00:00.000Z', days: 10, target: { name: 'decision', limit: 60 } },
      overdue: false,
    });
    const late = await svc.clock(principal, ids.D, new Date('2026-02-25T00:00:01Z'));
    expect(late.overdue).toBe(true);
    const decided = await svc.clock(principal, ids.A, new Date('2026-06-01T00:00:00Z'));
    expect(decided.total).toMatchObject({ until: '2026-03-13T09:00:00.000Z', days: 70 });
    expect(decided.overdue).toBe(false);
  });

  it('serves the clock to who may read the request, and the officer a queue with the overdue first', async () => {
    const res = await t.http.get(`/api/bids/${ids.D}/clock`).set(researcher.auth).expect(200);
    expect(res.body).toMatchObject({
      state: 'submitted',
      overdue: true,
      stage: { target: { overdue: true } },
    });
    const other = await t.as('researcher'); // another organisation's researcher
    await t.http.get(`/api/bids/${ids.D}/clock`).set(other.auth).expect(404);
    const queue = await t.http.get('/api/queue').set(officer.auth).expect(200);
    expect(queue.body.map((q: { bidId: string }) => q.bidId)).toEqual([ids.D, ids.E]);
    expect(queue.body[0].clock.overdue).toBe(true);
    await t.http.get('/api/queue').set(researcher.auth).expect(403);
    const svc = t.app.get(TransparencyService);
    const then = await svc.queue(officer.user as never, new Date('2026-02-25T00:00:01Z'));
    expect(then.map((q) => [q.bidId, q.clock.overdue])).toEqual([
      [ids.D, true],
      [ids.E, false],
    ]);
  });

  it('publishes the monthly figures', async () => {
    const res = await t.http.get('/api/statistics?from=2026-01&to=2026-03').expect(200);
    const [jan, feb, mar] = res.body.months;
    expect(jan).toMatchObject({
      month: '2026-01',
      received: 3,
      decided: 0,
      returned: 1,
      screeningMedianDays: 5,
      screeningP90Days: 6.6,
      decisionMedianDays: null,
    });
    expect(feb).toMatchObject({
      month: '2026-02',
      received: 2,
      decided: 1,
      rejected: 1,
      screeningMedianDays: 13,
      decisionMedianDays: 31,
    });
    expect(mar).toMatchObject({
      month: '2026-03',
      decided: 1,
      approved: 1,
      decisionMedianDays: 70,
      firstReleaseMedianDays: 5,
      releases: [{ tier: 'pseudonymised', legalBasis: 's251', releases: 2 }],
      objectionShares: [{ removedShare: 10 }, { removedShare: '*' }],
    });
    expect(res.body.objectionsInForce).toEqual({ type1: 10, type2: '*' });
    expect(res.body.targets).toEqual({ screeningWorkingDays: 10, decisionDays: 60 });

    const csv = await t.http.get('/api/statistics?from=2026-01&to=2026-03&format=csv').expect(200);
    expect(csv.headers['content-type']).toMatch(/text\/csv/);
    const lines = csv.text.trim().split('\r\n');
    expect(lines[0]).toBe(
      'month,received,decided,approved,rejected,returned,screeningMedianDays,screeningP90Days,decisionMedianDays,decisionP90Days,firstReleaseMedianDays,firstReleaseP90Days,releases',
    );
    expect(lines[1]).toBe('2026-01,3,0,0,0,1,5,6.6,,,,,0');
    expect(lines[3]).toBe('2026-03,0,1,1,0,0,,,70,70,5,5,2');
    await t.http.get('/api/statistics?from=2026-13').expect(400);
  });

  it('refuses a range of months it would not publish: backwards, or longer than twenty years (public route, bounded answer)', async () => {
    // Before: `from=0001-01&to=9999-12` built 119,988 months (26.8 MB of JSON, 6-12 s), and four such
    // requests at once ran the API out of its heap and stopped it (an outsider's probe, 2026-12-06).
    for (const q of [
      'from=0001-01&to=9999-12',
      'from=2000-01&to=2020-01',
      'from=2026-03&to=2026-01',
      'from=0099-01&to=0099-12', // read as 1999 before (Date.UTC's years 0-99)
    ]) {
      const res = await t.http.get(`/api/statistics?${q}`).expect(400);
      expect(res.body).toMatchObject({ statusCode: 400, code: 'VALIDATION_FAILED' });
      expect(res.body.message).toMatch(/months/);
    }
    const longest = await t.http.get('/api/statistics?from=2006-01&to=2025-12').expect(200);
    expect(longest.body.months).toHaveLength(240);
  });

  it("shows the officer's screening queue in the portal, overdue flagged first, and the clock on the request", async () => {
    const cookieOf = (res: { headers: Record<string, unknown> }) =>
      ([] as string[])
        .concat((res.headers['set-cookie'] as string[] | string | undefined) ?? [])
        .find((c) => c.startsWith(`${SESSION_COOKIE}=`))!
        .split(';')[0];
    const page = await t.http.get('/sign-in').expect(200);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page.text)![1];
    const res = await t.http
      .post('/sign-in')
      .set('cookie', cookieOf(page))
      .type('form')
      .send({ _csrf: csrf, email: officer.user.email, password: TEST_PASSWORD })
      .expect(303);
    const cookie = cookieOf(res);
    const list = await t.http.get('/screening').set('cookie', cookie).expect(200);
    expect(list.text.indexOf('Bid D')).toBeGreaterThan(0);
    expect(list.text.indexOf('Bid D')).toBeLessThan(list.text.indexOf('Bid E'));
    expect(list.text).toContain('Overdue');
    const bidPage = await t.http.get(`/screening/${ids.D}`).set('cookie', cookie).expect(200);
    expect(bidPage.text).toContain('How long this is taking');
    expect(bidPage.text).toMatch(/Screening by/);
  });

  it('shows the statistics page with an accessible chart whose figures are also in a table', async () => {
    const page = await t.http.get('/published-statistics?from=2026-01&to=2026-03').expect(200);
    expect(page.text).toContain('role="img"');
    expect(page.text).toContain('aria-labelledby="chart-title chart-desc"');
    expect(page.text).toMatch(/<th scope="row" class="nhsuk-table__header">2026-01<\/th>/);
    expect(page.text).toContain('5 / 6.6');
    expect(page.text).toContain('2026-03: 1 decided');
  });

  it('says on the statistics page why months cannot be shown, and shows the last twelve instead', async () => {
    for (const [q, why] of [
      // In plain words by the field (400), as the register's dates: never the API's own text.
      ['from=2026-03&to=2026-01', 'The to month must be the same as or after the from month'],
      ['from=1900-01&to=2026-01', 'Choose at most 240 months (20 years) at a time'],
      ['from=January', 'Enter the from month as a year and month'],
    ]) {
      const page = await t.http.get(`/published-statistics?${q}`).expect(400);
      expect(page.text).toContain('There is a problem');
      expect(page.text).toContain(why);
      expect(page.text).toContain('<title>Error: ');
      expect(page.text).toMatch(/<th scope="row" class="nhsuk-table__header">\d{4}-\d{2}<\/th>/);
    }
  });
});
