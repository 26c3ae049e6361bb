import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';
import { apiClient, freshDatabase, peakRssMb, report, scale, startProcess } from './common';

/**
 * `api`: autocannon, 32 connections, on an authenticated GET /api/bids (a researcher's page of 50)
 * and GET /api/bids/:id, beside GET /api/health of the same process. Runs on a fresh database of
 * its own (created beside the bench database) so earlier benchmarks' data does not matter.
 */
const ADMIN = { email: 'bench-admin@example.org', password: 'bench-admin-password-1' };

async function main(): Promise<void> {
  const base = process.env.DATABASE_URL!;
  const fresh = await freshDatabase(base, 'bench_api');
  const url = fresh.url;
  const duration = scale() === 'large' ? 20 : 5;
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
      password: 'bench-researcher-pw-1',
      displayName: 'R',
      roles: ['researcher'],
      organisationId: org.id,
    });
    const token = (
      await call('POST', '/auth/login', undefined, {
        email: 'bench-researcher@example.org',
        password: 'bench-researcher-pw-1',
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
    // CPU time of the load generator (autocannon runs in this process) and of the API process per
    // request: on two shared cores the client's share bounds what any route can reach.
    const apiCpuMs = () => {
      const f = readFileSync(`/proc/${api.child.pid}/stat`, 'utf8').split(') ')[1].split(' ');
      return { user: Number(f[11]) * 10, sys: Number(f[12]) * 10 }; // clock ticks of 10 ms
    };
    const cpu: Record<string, { client: number; api: string }> = {};
    const run = async (path: string, headers: Record<string, string> = {}) => {
      const c0 = process.cpuUsage();
      const a0 = apiCpuMs();
      const r = await autocannon({ url: `${base_}${path}`, connections: 32, duration, headers });
      const c = process.cpuUsage(c0);
      const a1 = apiCpuMs();
      const per = (ms: number) => (ms / r.requests.total).toFixed(3);
      cpu[path] = {
        client: +per((c.user + c.system) / 1000),
        api: `${per(a1.user - a0.user)}+${per(a1.sys - a0.sys)}`,
      };
      return r;
    };
    // Warm-up (not measured): every route once under load, so no route is measured with a cold JIT
    // or empty caches — the first route measured used to be the one paying for both.
    for (const [path, h] of [
      ['/health', {}],
      ['/bids?limit=50', auth],
      [`/bids/${bidId}`, auth],
      ['/auth/me', auth],
    ] as const)
      await autocannon({ url: `${base_}${path}`, connections: 32, duration: 2, headers: h });
    const health = await run('/health');
    const list = await run('/bids?limit=50', auth);
    const one = await run(`/bids/${bidId}`, auth);
    // Diagnostic: the cheapest authenticated route (token and session check), to separate the cost
    // of authentication from the cost of the bids reads.
    const me = await run('/auth/me', auth);
    const errors = (r: autocannon.Result) => r.non2xx + r.errors;
    report('api', list.requests.average / health.requests.average, {
      health_rps: health.requests.average,
      health_p99_ms: health.latency.p99,
      bids_list_rps: list.requests.average,
      bids_list_p99_ms: list.latency.p99,
      bid_rps: one.requests.average,
      bid_p99_ms: one.latency.p99,
      bid_ratio: one.requests.average / health.requests.average,
      auth_me_rps: me.requests.average,
      auth_me_p99_ms: me.latency.p99,
      non2xx: errors(health) + errors(list) + errors(one) + errors(me),
      api_peak_rss_mb: peakRssMb(api.child.pid!),
      // CPU ms per request: load generator / API process user+system.
      health_cpu_ms: `${cpu['/health'].client}/${cpu['/health'].api}`,
      list_cpu_ms: `${cpu['/bids?limit=50'].client}/${cpu['/bids?limit=50'].api}`,
      bid_cpu_ms: `${cpu[`/bids/${bidId}`].client}/${cpu[`/bids/${bidId}`].api}`,
      duration_s: duration,
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
