import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AddressInfo } from 'node:net';
import { createTestApp, TestApp } from '@custodian/testing';
import { LINKAGE_KEY_SHARED_URL, runExtractor } from '@custodian/practices';
import { checkUploadUrl, ExtractCommand, readToken, TOKEN_ENV } from '../apps/cli/src/extract.command';
import {
  condition,
  medication,
  ndjson,
  nhsNumber,
  objection,
  observation,
  patient,
  procedure,
} from './support/fhir';
import { practiceReady, upload } from './support/practice';

const M = 'QZXPRIVATE';

/** A practice system's full export: everything the practice holds, including what must not leave. */
function practiceExport(n: Record<'a' | 'b' | 'c' | 'd', string>) {
  const noisy = (o: object) => ({
    ...o,
    note: [{ text: `${M} note` }],
    text: { div: `<div>${M}</div>` },
  });
  return [
    patient('a', n.a, {
      name: [{ family: `${M}Smith` }],
      telecom: [{ value: `${M}07700` }],
      address: [{ line: [`${M} Street`], city: 'Leeds', postalCode: 'LS1 4AP' }],
    }),
    noisy(condition('a-c', 'a')),
    noisy(procedure('a-p', 'a')),
    // b: Type 1 objector (registered, withdrawn, registered again — active)
    patient('b', n.b, { name: [{ family: `${M}Jones` }] }),
    condition('b-c', 'b'),
    medication('b-m', 'b'),
    objection('b-o1', 'b', '9Nu0', '2012-01-01'),
    objection('b-o2', 'b', '9Nu1', '2013-01-01'),
    objection('b-o3', 'b', '827241000000103', '2014-01-01'),
    objection('b-o4', 'b', '9Nu4', '2014-02-01'),
    // c: Type 1 registered then withdrawn — leaves in full
    patient('c', n.c),
    observation('c-o', 'c'),
    objection('c-o1', 'c', '9Nu0', '2011-01-01'),
    objection('c-o2', 'c', '9Nu1', '2012-01-01'),
    // d: Type 2 objector — leaves in full with the objection entry
    patient('d', n.d),
    objection('d-o1', 'd', '9Nu4', '2015-01-01'),
    { resourceType: 'Encounter', id: 'e1', subject: { reference: 'Patient/a' } },
    { resourceType: 'AllergyIntolerance', id: 'al1', patient: { reference: 'Patient/b' } },
  ];
}

/** What the CLI prints, captured, and the process's exit code as it was; `restore` puts all back. */
function captureConsole() {
  const errors: string[] = [];
  const logs: string[] = [];
  const err = vi
    .spyOn(console, 'error')
    .mockImplementation((...a: unknown[]) => void errors.push(a.join(' ')));
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void logs.push(a.join(' ')));
  const code = process.exitCode;
  return {
    errors,
    logs,
    code,
    restore: () => {
      err.mockRestore();
      log.mockRestore();
      process.exitCode = code;
    },
  };
}

describe('the practice-side extractor (cli extract)', () => {
  let t: TestApp;
  let auth: { Authorization: string };
  let dir: string;
  const n = { a: nhsNumber(800_001), b: nhsNumber(800_002), c: nhsNumber(800_003), d: nhsNumber(800_004) };
  beforeAll(async () => {
    t = await createTestApp();
    const admin = (await t.as('admin')).auth;
    auth = await practiceReady(t, admin, 'A81001');
    dir = mkdtempSync(path.join(tmpdir(), 'extractor-'));
  });
  afterAll(() => t?.close());

  it('removes Type 1 objectors except their marker, strips fields, and counts what it removed', async () => {
    const input = path.join(dir, 'export.ndjson');
    const output = path.join(dir, 'extract.ndjson');
    writeFileSync(input, ndjson(practiceExport(n)) + 'this is not json\n');
    const report = await runExtractor({ practiceOds: 'A81001', input, output });
    const out = readFileSync(output, 'utf8');
    expect(out).not.toContain(M);
    expect(out).not.toContain('Leeds');
    const lines = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const b = lines.filter((r) => r.id === 'b' || JSON.stringify(r.subject ?? {}).includes(n.b));
    // An objector's entries name the person by NHS number alone, so that the centre applies them to
    // the person whichever of their Patient records they named (a duplicate's reference, whose
    // record does not leave, was listed as refused at the centre: a new user's tryout).
    // The export's entries have no status (R4 requires one): they leave with `status: unknown`.
    const withNhs = (o: ReturnType<typeof objection>) => ({
      ...o,
      status: 'unknown',
      subject: { identifier: { system: 'https://fhir.nhs.uk/Id/nhs-number', value: n.b } },
    });
    expect(b).toEqual([
      {
        resourceType: 'Patient',
        id: 'b',
        identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: n.b }],
      },
      // Written as the practice read them (canonicalObjections): a registration at its day's last
      // second, a withdrawal at its first (in England: GMT in January), to the second.
      withNhs(objection('b-o1', 'b', '9Nu0', '2012-01-01T23:59:59Z')),
      withNhs(objection('b-o2', 'b', '9Nu1', '2013-01-01T00:00:00Z')),
      withNhs(objection('b-o3', 'b', '827241000000103', '2014-01-01T23:59:59Z')),
      // An objector's Type 2 objection leaves too (it was dropped, and the centre lost it: review-17).
      withNhs(objection('b-o4', 'b', '9Nu4', '2014-02-01T23:59:59Z')),
    ]);
    expect(lines.map((r) => r.id)).toEqual([
      'a',
      'a-c',
      'a-p',
      'b',
      'b-o1',
      'b-o2',
      'b-o3',
      'b-o4',
      'c',
      'c-o',
      'c-o1',
      'c-o2',
      'd',
      'd-o1',
    ]);
    expect(lines[0]).toEqual({
      resourceType: 'Patient',
      id: 'a',
      identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: n.a }],
      birthDate: '1970-03-04',
      gender: 'female',
      address: [{ postalCode: 'LS1 4AP' }],
      // a, c and d have the Type 1 objector b's sex, DOB and postcode (issue #26): marked, b not described.
      extension: [...patient('a', n.a).extension, { url: LINKAGE_KEY_SHARED_URL, valueBoolean: true }],
      generalPractitioner: patient('a', n.a).generalPractitioner,
    });
    expect(report).toEqual({
      lines: 19,
      blankLines: 0,
      written: 14,
      patientsSharingKeyWithType1: 3,
      removed: {
        type1Patients: 1,
        type1Resources: 2,
        malformedLines: 1,
        unsupportedResources: 2,
        incompleteResources: 0,
        invalidResources: 0,
        enteredInError: 0,
        notHappened: 0,
        // The seven objection entries (the clinical builders write a status).
        statusUnknown: 7,
        fields: 8,
        byField: { 'address.city': 1, 'address.line': 1, name: 1, note: 2, telecom: 1, text: 2 },
      },
      // Date-only objection entries, said so: a registration read at the day's last second, a
      // withdrawal (lines 8 and 14) at its first, in England or UTC (fail closed).
      warnings: [7, 8, 9, 10, 13, 14, 16].map((line) => ({
        line,
        reason: `Observation.effectiveDateTime: date only, read as ${
          line === 8 || line === 14
            ? 'its first second in England (Europe/London) or UTC, the earlier'
            : 'its last second (23:59:59 UTC)'
        }`,
      })),
      rejected: [],
    });
  });

  it('never takes the token on the command line, and never uploads over plain HTTP to another machine unless told to', async () => {
    const input = path.join(dir, 'export3.ndjson');
    const output = path.join(dir, 'extract3.ndjson');
    writeFileSync(input, ndjson(practiceExport(n)));
    const run = (o: Record<string, unknown>) =>
      new ExtractCommand().run([], { practice: 'A81001', input, output, ...o });
    await expect(run({ upload: 'https://centre.example.org', token: 'eyJ.secret.token' })).rejects.toThrow(
      /--token is not accepted/,
    );
    await expect(run({ upload: 'http://centre.example.org', tokenFile: input })).rejects.toThrow(
      /refusing to upload patient data over plain HTTP to centre\.example\.org/,
    );
    await expect(run({ upload: 'ftp://centre.example.org', tokenFile: input })).rejects.toThrow(/https/);
    const saved = process.env[TOKEN_ENV];
    delete process.env[TOKEN_ENV];
    try {
      await expect(run({ upload: 'https://centre.example.org' })).rejects.toThrow(/--token-file/);
    } finally {
      if (saved !== undefined) process.env[TOKEN_ENV] = saved;
    }
    // Refused before any work: no extract was written.
    expect(existsSync(output)).toBe(false);
    expect(checkUploadUrl('http://127.0.0.1:3000').hostname).toBe('127.0.0.1');
    expect(checkUploadUrl('http://[::1]:3000').hostname).toBe('[::1]');
    expect(checkUploadUrl('http://localhost:3000').hostname).toBe('localhost');
    expect(checkUploadUrl('http://10.1.2.3', true).hostname).toBe('10.1.2.3');
    expect(readToken({}, { [TOKEN_ENV]: ' from-env \n' })).toBe('from-env');
  });

  it('its output is accepted by the centre, and the marker deletes what the centre held for the objector', async () => {
    // The centre holds b from before the objection.
    await upload(
      t,
      auth,
      'A81001',
      ndjson([patient('b', n.b), condition('b-c', 'b'), medication('b-m', 'b')]),
    ).expect(201);
    const input = path.join(dir, 'export2.ndjson');
    const output = path.join(dir, 'extract2.ndjson');
    writeFileSync(input, ndjson(practiceExport(n)));
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const port = (t.app.getHttpServer().address() as AddressInfo).port;
    const token = auth.Authorization.slice('Bearer '.length);
    // The token goes in a file of the operator's own (never on the command line).
    const tokenFile = path.join(dir, 'token');
    writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
    const logs: string[] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void logs.push(a.join(' ')));
    try {
      await new ExtractCommand().run([], {
        practice: 'A81001',
        input,
        output,
        upload: `http://127.0.0.1:${port}`,
        tokenFile,
      });
    } finally {
      spy.mockRestore();
    }
    const printed = logs.join('\n');
    expect(printed).toContain('upload: HTTP 201');
    for (const v of Object.values(n)) expect(printed).not.toContain(v);
    const report = JSON.parse(printed.slice(printed.indexOf('{')));
    // Seven objection entries: b's Type 2 objection (b-o4) leaves with b's Type 1 entries (review-17).
    expect(report).toMatchObject({ patients: 3, resources: 3, rejected: [], objections: 7 });
    expect(report.dropped).toMatchObject({
      resources: 0,
      fields: 0,
      type1: { patients: 1, resources: 0, heldDeleted: 1 },
    });
    const { rows } = await t.sql.query(
      `SELECT p.source_id, count(e.id)::int AS events FROM patients p LEFT JOIN gp_events e ON e.patient_id = p.id
        GROUP BY p.source_id ORDER BY 1`,
    );
    expect(rows).toEqual([
      { source_id: 'a', events: 2 },
      { source_id: 'c', events: 1 },
      { source_id: 'd', events: 0 },
    ]);
    const reg = await t.sql.query(
      `SELECT nhs_number, type, active FROM objection_register ORDER BY nhs_number, type`,
    );
    expect(reg.rows).toEqual(
      [
        { nhs_number: n.b, type: 'type1', active: true },
        // b's Type 2 objection reaches the centre too (review-17: it was dropped with b's records).
        { nhs_number: n.b, type: 'type2', active: true },
        { nhs_number: n.c, type: 'type1', active: false },
        { nhs_number: n.d, type: 'type2', active: true },
      ].sort((x, y) => x.nhs_number.localeCompare(y.nhs_number)),
    );
  });

  it('refuses what a careless operator gives it, saying why: the export as its own output, a missing file, a file that is no NDJSON, the API address, every line refused (a new user: the export emptied, a stack trace, exit 0)', async () => {
    const input = path.join(dir, 'export4.ndjson');
    writeFileSync(input, ndjson(practiceExport(n)));
    const before = readFileSync(input, 'utf8');
    await expect(runExtractor({ practiceOds: 'A81001', input, output: input })).rejects.toThrow(
      /--output is the export itself/,
    );
    await expect(
      runExtractor({
        practiceOds: 'A81001',
        input: `${dir}/../${path.basename(dir)}/export4.ndjson`,
        output: input,
      }),
    ).rejects.toThrow(/--output is the export itself/);
    expect(readFileSync(input, 'utf8')).toBe(before);
    await expect(
      runExtractor({
        practiceOds: 'A81001',
        input: path.join(dir, 'none.ndjson'),
        output: path.join(dir, 'o.ndjson'),
      }),
    ).rejects.toThrow(/--input: no file/);
    // A CSV: exit 1, said so, nothing uploaded.
    const csv = path.join(dir, 'hes.csv');
    writeFileSync(csv, 'NHS_NUMBER,ADMIDATE\n9434765919,2020-01-01\n');
    const { errors, logs, code, restore } = captureConsole();
    try {
      await new ExtractCommand().run([], {
        practice: 'A81001',
        input: csv,
        output: path.join(dir, 'csv-out.ndjson'),
      });
      expect(process.exitCode).toBe(1);
      expect(errors.join('\n')).toMatch(/is not an NDJSON export: none of its 2 line\(s\) is a JSON object/);
      // The API's address (README's `…/api`) reaches the route; another practice's export is
      // refused line by line: exit 1.
      process.exitCode = code;
      await t.app.listen({ port: 0, host: '127.0.0.1' }).catch(() => undefined);
      const port = (t.app.getHttpServer().address() as AddressInfo).port;
      const tokenFile = path.join(dir, 'token4');
      writeFileSync(tokenFile, auth.Authorization.slice('Bearer '.length), { mode: 0o600 });
      await new ExtractCommand().run([], {
        practice: 'A81001',
        input,
        output: path.join(dir, 'own.ndjson'),
        upload: `http://127.0.0.1:${port}/api/`,
        tokenFile,
      });
      expect(logs.join('\n')).toContain('upload: HTTP 201');
      expect(process.exitCode).toBe(code);
      await new ExtractCommand().run([], {
        practice: 'A81002',
        input,
        output: path.join(dir, 'other.ndjson'),
        upload: `http://127.0.0.1:${port}/api`,
        tokenFile,
      });
      expect(process.exitCode).toBe(1);
    } finally {
      restore();
    }
  });

  it('a CSV or other non-NDJSON file with a blank line in it is still no NDJSON export: exit 1 (the blank line made it exit 0 with an empty extract)', async () => {
    const { errors, code, restore } = captureConsole();
    try {
      for (const text of [
        'NHS_NUMBER,ADMIDATE\r\n9434765919,2020-01-01\r\n\r\n',
        'NHS_NUMBER,ADMIDATE\n\n9434765919,2020-01-01\n   \n',
      ]) {
        const csv = path.join(dir, 'blank.csv');
        writeFileSync(csv, text);
        process.exitCode = code;
        errors.length = 0;
        await new ExtractCommand().run([], {
          practice: 'A81001',
          input: csv,
          output: path.join(dir, 'blank-out.ndjson'),
        });
        expect(process.exitCode, JSON.stringify(text)).toBe(1);
        expect(errors.join('\n')).toMatch(
          /is not an NDJSON export: none of its 2 line\(s\) is a JSON object/,
        );
      }
    } finally {
      restore();
    }
  });

  it('an extract sent again, with a line the centre refuses, is no failure: not "all lines refused" and exit 1 (nothing new is stored the second time)', async () => {
    const n2 = nhsNumber(800_101);
    const input = path.join(dir, 'again.ndjson');
    // A condition of a patient the export does not have: the centre refuses that line alone.
    writeFileSync(
      input,
      ndjson([patient('again', n2), condition('again-c', 'again'), condition('stray-c', 'nobody')]),
    );
    const { errors, logs, code, restore } = captureConsole();
    try {
      await t.app.listen({ port: 0, host: '127.0.0.1' }).catch(() => undefined);
      const port = (t.app.getHttpServer().address() as AddressInfo).port;
      const tokenFile = path.join(dir, 'token-again');
      writeFileSync(tokenFile, auth.Authorization.slice('Bearer '.length), { mode: 0o600 });
      for (const round of [1, 2]) {
        process.exitCode = code;
        errors.length = 0;
        logs.length = 0;
        await new ExtractCommand().run([], {
          practice: 'A81001',
          input,
          output: path.join(dir, `again-out${round}.ndjson`),
          upload: `http://127.0.0.1:${port}`,
          tokenFile,
        });
        expect(logs.join('\n')).toContain('upload: HTTP 201');
        expect(logs.join('\n')).toContain('"rejectedCount": 1');
        expect(errors.join('\n'), `round ${round}`).not.toMatch(/all 1 line\(s\) refused/);
        expect(process.exitCode, `round ${round}`).toBe(code);
      }
    } finally {
      restore();
    }
  });
});
