import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';
import { apiClient, argValue, benchDatabase, freshDatabase, peakRssMb, startProcess } from './common';

/**
 * `npm run soak [-- --seconds 120]`: mixed authenticated traffic at 50 connections against one API
 * process on loopback, bounded in time. Passes only with zero 5xx responses and no error-level log
 * lines; reports RSS at the start and the end.
 */
const rssMb = (pid: number) =>
  Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
const ADMIN = { email: 'soak-admin@example.org', password: 'soak-centre-passphrase-1' };

async function main(): Promise<void> {
  const seconds = Number(argValue('seconds', '120'));
  const db = await benchDatabase();
  const fresh = await freshDatabase(db.url, 'soak');
  const url = fresh.url;
  const api = await startProcess('api', url, {
    ADMIN_EMAIL: ADMIN.email,
    ADMIN_PASSWORD: ADMIN.password,
    LOG_LEVEL: 'info',
  });
  const base = `http://127.0.0.1:${api.port}/api`;
  const call = apiClient(base);
  let failed = false;
  try {
    const adminToken = (await call('POST', '/auth/login', undefined, ADMIN)).accessToken;
    const org = await call('POST', '/organisations', adminToken, {
      name: 'Soak University',
      kind: 'academic',
    });
    await call('POST', '/users', adminToken, {
      email: 'soak-researcher@example.org',
      password: 'soak-study-passphrase-1',
      displayName: 'R',
      roles: ['researcher'],
      organisationId: org.id,
    });
    await call('POST', '/users', adminToken, {
      email: 'soak-auditor@example.org',
      password: 'soak-oversight-passphrase-1',
      displayName: 'A',
      roles: ['auditor'],
    });
    const researcher = (
      await call('POST', '/auth/login', undefined, {
        email: 'soak-researcher@example.org',
        password: 'soak-study-passphrase-1',
      })
    ).accessToken;
    const auditor = (
      await call('POST', '/auth/login', undefined, {
        email: 'soak-auditor@example.org',
        password: 'soak-oversight-passphrase-1',
      })
    ).accessToken;
    const bid = {
      title: 'Soak',
      purpose: 'Soak test',
      publicBenefit: 'Stability',
      legalBasis: 'none',
      requestedTier: 'aggregate',
      datasets: [{ dataset: 'gp', fields: ['sex', 'code'] }],
      aggregation: { dimensions: ['sex'] },
      durationMonths: 6,
    };
    const created = await call('POST', '/bids', researcher, bid).catch(() => ({
      id: '00000000-0000-4000-8000-000000000000',
    }));
    const r = { authorization: `Bearer ${researcher}`, 'content-type': 'application/json' };
    const a = { authorization: `Bearer ${auditor}`, 'content-type': 'application/json' };
    await new Promise((res) => setTimeout(res, 2000));
    const rssStart = rssMb(api.child.pid!);
    const result = await autocannon({
      url: base,
      connections: 50,
      duration: seconds,
      requests: [
        { method: 'GET', path: '/api/health' },
        { method: 'GET', path: '/api/auth/me', headers: r },
        { method: 'GET', path: '/api/bids?limit=50', headers: r },
        { method: 'GET', path: `/api/bids/${created.id}`, headers: r },
        { method: 'GET', path: '/api/datasets', headers: r },
        { method: 'GET', path: '/api/register' },
        { method: 'GET', path: '/api/audit?limit=20', headers: a },
        { method: 'POST', path: '/api/bids', headers: r, body: JSON.stringify(bid) },
        { method: 'GET', path: '/api/users', headers: r },
      ],
    });
    const rssEnd = rssMb(api.child.pid!);
    const statuses = result.statusCodeStats as unknown as Record<string, { count: number }>;
    const fiveXx = Object.entries(statuses)
      .filter(([code]) => code.startsWith('5'))
      .reduce((n, [, v]) => n + v.count, 0);
    const errorLines = api
      .output()
      .split('\n')
      .filter((l) => /"level":(50|60)/.test(l));
    console.log(
      JSON.stringify(
        {
          seconds,
          requests: result.requests.total,
          rps: result.requests.average,
          p99_ms: result.latency.p99,
          statuses,
          fiveXx,
          errorLogLines: errorLines.length,
          rssStartMb: Math.round(rssStart),
          rssEndMb: Math.round(rssEnd),
          peakRssMb: Math.round(peakRssMb(api.child.pid!)),
        },
        null,
        2,
      ),
    );
    for (const l of errorLines.slice(0, 5)) console.log(`error log: ${l.slice(0, 300)}`);
    failed = fiveXx > 0 || errorLines.length > 0 || result.errors > 0;
    console.log(failed ? 'SOAK FAILED' : 'SOAK PASSED');
  } finally {
    await api.stop();
    await fresh.drop();
    await db.stop();
  }
  process.exit(failed ? 1 : 0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
