import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';
import { apiClient, freshDatabase, peakRssMb, report, scale, startProcess } from './common';

/**
 * `api`: autocannon, 32 connections, on each read route a user waits for: a researcher's
 * GET /api/bids (a page of 50), GET /api/bids/:id, its events, GET /api/auth/me, the catalogue,
 * and the public register, beside GET /api/health of the same process (started as `npm start`
 * runs it: the same heap and semi-space caps). The target (issue #21): p99 ≤ 50 ms on every route;
 * `ratio` is the worst route's p99 over 50 ms (≤ 1 meets it). Runs on a fresh database of its own
 * (created beside the bench database) so earlier benchmarks' data does not matter.
 */
const P99_TARGET_MS = 50;
const ADMIN = { email: 'bench-admin@example.org', password: 'bench-centre-passphrase-1' };

async function main(): Promise<void> {
  const base = process.env.DATABASE_URL!;
  const fresh = await freshDatabase(base, 'bench_api');
  const url = fresh.url;
  const duration = scale() === 'large' ? 20 : 8; // seconds per route, in ROUNDS slices
  const api = await startProcess('api', url, {
    ADMIN_EMAIL: ADMIN.email,
    ADMIN_PASSWORD: ADMIN.password,
    RUN_WORKER: 'false',
  });
  const base_ = `http://127.0.0.1:${api.port}/api`;
  const call = apiClient(base_);
  try {
    const adminToken = (await call('POST', '/auth/login', undefined, ADMIN)).accessToken;
    const org = await call('POST', '/organisations', adminToken, {
      name: 'Bench University',
      kind: 'academic',
    });
    await call('POST', '/users', adminToken, {
      email: 'bench-researcher@example.org',
      password: 'bench-study-passphrase-1',
      displayName: 'R',
      roles: ['researcher'],
      organisationId: org.id,
    });
    const token = (
      await call('POST', '/auth/login', undefined, {
        email: 'bench-researcher@example.org',
        password: 'bench-study-passphrase-1',
      })
    ).accessToken;
    let bidId = '';
    for (let i = 0; i < 60; i++) {
      const bid = await call('POST', '/bids', token, {
        title: `Bench bid ${i}`,
        purpose: 'Benchmarking the bids list',
        publicBenefit: 'Faster services',
        legalBasis: 's251',
        legalBasisReference: 'CAG 1-01(a)/2026',
        requestedTier: 'pseudonymised',
        datasets: [{ dataset: 'gp', fields: ['nhs_number', 'date_of_birth', 'code', 'event_date'] }],
        cohort: { practices: ['A81001'], eventsFrom: '2010-01-01', eventsTo: '2014-12-31' },
        durationMonths: 12,
      });
      bidId = bid.id;
    }
    const auth = { authorization: `Bearer ${token}` };
    const routes = {
      health: { path: '/health', headers: {} },
      list: { path: '/bids?limit=50', headers: auth },
      bid: { path: `/bids/${bidId}`, headers: auth },
      // Diagnostic: the cheapest authenticated route (token and session check), to separate the
      // cost of authentication from the cost of the bids reads.
      me: { path: '/auth/me', headers: auth },
      events: { path: `/bids/${bidId}/events`, headers: auth },
      datasets: { path: '/datasets', headers: auth },
      register: { path: '/register', headers: {} },
    };
    type Route = keyof typeof routes;
    // BENCH_ROUTES=health,list,…: only these routes (a comparison of caches on the routes they serve).
    const only = process.env.BENCH_ROUTES?.split(',');
    if (only) for (const r of Object.keys(routes) as Route[]) if (!only.includes(r)) delete routes[r];
    const once = (r: Route, seconds: number) =>
      autocannon({
        url: `${base_}${routes[r].path}`,
        connections: 32,
        duration: seconds,
        headers: routes[r].headers,
      });
    // Warm-up (not measured): every route once under load, so no route is measured with a cold JIT
    // or empty caches — the first route measured used to be the one paying for both.
    for (const r of Object.keys(routes) as Route[]) await once(r, 2);

    // Measured in ROUNDS interleaved slices per route (health, list, bid, me, health, …), so that a
    // change in the machine's speed during the run (it is shared) weighs on every route alike.
    // Per route: requests over time, the worst slice's p99, and CPU ms per request of the load
    // generator (autocannon runs in this process) and of the API process (user + system).
    const apiCpuMs = () => {
      const f = readFileSync(`/proc/${api.child.pid}/stat`, 'utf8').split(') ')[1].split(' ');
      return { user: Number(f[11]) * 10, sys: Number(f[12]) * 10 }; // clock ticks of 10 ms
    };
    const ROUNDS = 4;
    const totals = Object.fromEntries(
      (Object.keys(routes) as Route[]).map((r) => [
        r,
        { requests: 0, p99: 0, errors: 0, client: 0, user: 0, sys: 0 },
      ]),
    ) as Record<
      Route,
      { requests: number; p99: number; errors: number; client: number; user: number; sys: number }
    >;
    for (let round = 0; round < ROUNDS; round++)
      for (const r of Object.keys(routes) as Route[]) {
        const c0 = process.cpuUsage();
        const a0 = apiCpuMs();
        const res = await once(r, duration / ROUNDS);
        const c = process.cpuUsage(c0);
        const a1 = apiCpuMs();
        const t = totals[r];
        t.requests += res.requests.total;
        t.p99 = Math.max(t.p99, res.latency.p99);
        t.errors += res.non2xx + res.errors;
        t.client += (c.user + c.system) / 1000;
        t.user += a1.user - a0.user;
        t.sys += a1.sys - a0.sys;
      }
    const rps = (r: Route) => totals[r].requests / duration;
    const names = Object.keys(routes) as Route[];
    const worst = Math.max(...names.map((r) => totals[r].p99));
    const figures: Record<string, string | number> = {};
    for (const r of names) {
      const t = totals[r];
      figures[`${r}_p99_ms`] = t.p99;
      figures[`${r}_rps`] = rps(r);
      // CPU ms per request: load generator / API process user+system.
      figures[`${r}_cpu_ms`] =
        `${(t.client / t.requests).toFixed(3)}/${(t.user / t.requests).toFixed(3)}+${(t.sys / t.requests).toFixed(3)}`;
    }
    report('api', worst / P99_TARGET_MS, {
      worst_p99_ms: worst,
      ...figures,
      non2xx: Object.values(totals).reduce((n, t) => n + t.errors, 0),
      api_peak_rss_mb: peakRssMb(api.child.pid!),
      duration_s: duration,
      rounds: ROUNDS,
    });
  } finally {
    await api.stop();
    await fresh.drop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
