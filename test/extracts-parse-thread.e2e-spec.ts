import { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createTestApp, TestApp } from '@custodian/testing';
import {
  condition,
  invalidNhsNumber,
  medication,
  nhsNumber,
  objection,
  observation,
  patient,
  procedure,
} from './support/fhir';
import { practiceReady, upload } from './support/practice';
import { killWorker, startApi } from './support/worker-process';

/**
 * The built service parses extracts on two threads (the request's and a parse thread); the
 * in-process test app, running from TypeScript sources, on one. Both must store and report
 * exactly the same for the same extract, junk and all.
 */
const threads = (pid: number) =>
  Number(/Threads:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);

function extract(ods: string, seed: number): string {
  const lines: string[] = [];
  for (let p = 0; p < 1500; p++) {
    const id = `p${p}`;
    const nhs = p % 97 === 5 ? invalidNhsNumber(seed + p) : nhsNumber(seed + p);
    lines.push(
      JSON.stringify(
        patient(
          id,
          nhs,
          { name: [{ family: 'Gone' }], birthDate: `19${50 + (p % 40)}-0${1 + (p % 9)}-1${p % 10}` },
          ods,
        ),
      ),
    );
    lines.push(
      JSON.stringify(
        condition(`${id}-c`, id, { onsetDateTime: `20${10 + (p % 10)}-02-03`, note: [{ text: 'x' }] }),
      ),
    );
    lines.push(JSON.stringify(procedure(`${id}-p`, id)));
    lines.push(JSON.stringify(medication(`${id}-m`, id)));
    lines.push(JSON.stringify(observation(`${id}-o`, id, { valueQuantity: { value: p / 7, unit: 'kg' } })));
    if (p % 250 === 3) lines.push(JSON.stringify(objection(`${id}-x`, id, '9Nu4', '2020-01-01')));
    if (p % 300 === 7) lines.push('{"resourceType": "Condition", broken');
    if (p % 300 === 8) lines.push('', JSON.stringify({ resourceType: 'Encounter', id: `${id}-e` }));
    if (p % 400 === 9) lines.push(JSON.stringify(condition(`${id}-u`, 'nobody')));
  }
  lines.splice(3000, 0, JSON.stringify(observation('huge', 'p1', { note: 'x'.repeat(2 * 1024 * 1024) })));
  return `${lines.join('\r\n')}\r\n`;
}

describe('extract intake in the built service (two parse threads)', () => {
  let t: TestApp;
  let other: { child: ChildProcess; url: string };
  let a: { Authorization: string };
  let b: { Authorization: string };
  beforeAll(async () => {
    t = await createTestApp();
    const admin = (await t.as('admin')).auth;
    a = await practiceReady(t, admin, 'A81001');
    b = await practiceReady(t, admin, 'B82002');
    other = await startApi(t);
  });
  afterAll(async () => {
    if (other) await killWorker(other.child);
    await t?.close();
  });

  const stored = async (ods: string) =>
    (
      await t.sql.query(
        `SELECT p.source_id, p.birth_date::text, p.sex, p.postcode, g.resource_type, g.resource_id, g.code_system,
                g.code, g.event_date::text, g.value
           FROM gp_events g JOIN patients p ON p.id = g.patient_id
          WHERE p.practice_ods = $1 ORDER BY g.resource_type, g.resource_id`,
        [ods],
      )
    ).rows;

  it('stores and reports a multi-megabyte extract exactly as the one-thread intake does', async () => {
    const one = await upload(t, a, 'A81001', extract('A81001', 1)).expect(201);

    const before = threads(other.child.pid!);
    const res = await fetch(`${other.url}/api/practices/B82002/extracts`, {
      method: 'POST',
      headers: { ...b, 'content-type': 'application/x-ndjson' },
      body: Buffer.from(extract('B82002', 100_000)),
    });
    expect(res.status).toBe(201);
    const two = (await res.json()) as Record<string, unknown>;
    // The built service started its parse thread for this upload.
    expect(threads(other.child.pid!)).toBeGreaterThan(before);

    const { extractId: _a, ...oneReport } = one.body;
    const { extractId: _b, ...twoReport } = two;
    expect(twoReport).toEqual(oneReport);
    expect(oneReport.patients).toBe(1500 - 16);
    expect(oneReport.rejected).toContainEqual({ line: 3001, reason: 'line longer than 1048576 bytes' });
    expect(oneReport.rejected).toContainEqual({ line: expect.any(Number), reason: 'malformed JSON' });
    // The 16 refused Patients' names are not counted as removed (only stored lines' fields are),
    // nor the notes of their events, which the merge refuses (their Patient is not stored).
    expect(oneReport.dropped.byField).toMatchObject({ name: 1500 - 16, note: 1500 - 16 });

    const [sa, sb] = [await stored('A81001'), await stored('B82002')];
    expect(sa.length).toBe(oneReport.resources);
    expect(sb).toEqual(sa);
  });
});
