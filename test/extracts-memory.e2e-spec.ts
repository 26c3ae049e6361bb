import { ChildProcess } from 'node:child_process';
import { createTestApp, TestApp } from '@custodian/testing';
import { nhsNumber, patient } from './support/fhir';
import { practiceReady } from './support/practice';
import { killWorker, startApi } from './support/worker-process';

/**
 * An upload's memory is bounded whatever the file holds (SECURITY.md): the built API under the
 * heap limit `npm start` gives it, sent millions of bad lines, then lines of thousands of distinct
 * unknown keys. It answers each with a bounded report and stays up.
 */
describe('extract uploads cannot exhaust the API heap', () => {
  let t: TestApp;
  let api: { child: ChildProcess; url: string };
  let token: string;

  beforeAll(async () => {
    t = await createTestApp();
    const admin = (await t.as('admin')).auth;
    const auth = await practiceReady(t, admin, 'M00001');
    token = auth.Authorization.slice('Bearer '.length);
    // As `npm start` runs it (package.json): a 192 MB old space.
    api = await startApi(t, {}, ['--max-old-space-size=192', '--max-semi-space-size=2']);
  }, 90_000);
  afterAll(async () => {
    if (api) await killWorker(api.child);
    await t?.close();
  });

  const send = (body: Buffer) =>
    fetch(`${api.url}/api/practices/M00001/extracts`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-ndjson' },
      body,
    });

  it('two million bad lines: a bounded report, and the API still answers', async () => {
    // One resource after them (a body of nothing but bad lines is refused whole: EXTRACT_NOT_NDJSON).
    const one = JSON.stringify(patient('mem-bad', nhsNumber(880_999_993), {}, 'M00001'));
    const res = await send(Buffer.from(`${'x\n'.repeat(2_000_000)}${one}\n`));
    expect(res.status).toBe(201);
    const report = (await res.json()) as {
      rejected: { line: number }[];
      rejectedCount: number;
      rejectedByReason: Record<string, number>;
    };
    expect(report.rejectedCount).toBe(2_000_000);
    expect(report.rejected).toHaveLength(1000);
    expect(report.rejected[0]).toEqual({ line: 1, reason: 'malformed JSON' });
    expect(report.rejectedByReason).toEqual({ 'malformed JSON': 2_000_000 });
    expect((await fetch(`${api.url}/api/health`)).status).toBe(200);
    expect(api.child.exitCode).toBeNull();
  }, 120_000);

  it('a million distinct unknown keys: counted under at most 200 names, and the API still answers', async () => {
    const lines: string[] = [];
    for (let i = 0; i < 200; i++) {
      const p = patient(`mem-${i}`, nhsNumber(880_000_000 + i * 7), {}, 'M00001') as Record<string, unknown>;
      for (let k = 0; k < 5000; k++) p[`u${i}_${k}`] = 1;
      lines.push(JSON.stringify(p));
    }
    const res = await send(Buffer.from(`${lines.join('\n')}\n`));
    expect(res.status).toBe(201);
    const report = (await res.json()) as { dropped: { fields: number; byField: Record<string, number> } };
    expect(report.dropped.fields).toBe(1_000_000);
    expect(Object.keys(report.dropped.byField).length).toBeLessThanOrEqual(201);
    expect((await fetch(`${api.url}/api/health`)).status).toBe(200);
    expect(api.child.exitCode).toBeNull();
  }, 120_000);
});
