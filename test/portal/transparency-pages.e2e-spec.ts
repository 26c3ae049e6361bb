import { SESSION_COOKIE } from '@custodian/portal';
import { createTestApp, TestApp, TEST_PASSWORD } from '@custodian/testing';
import { addEvent, addPatient, runRelease, seedPractice, spec } from '../release-helpers';

/**
 * The risk report of a release in the portal (#24): the recipient's request page and the public
 * register show it with the small-number rule applied (1–7 → `*`, others rounded to 5), never the
 * exact figures the release officer reads; the register page lists each release's files with their
 * sizes and SHA-256 (in-process, supertest, real PostgreSQL, a real release).
 */
const cookieOf = (res: { headers: Record<string, unknown> }): string | undefined => {
  const set = ([] as string[]).concat((res.headers['set-cookie'] as string[] | string | undefined) ?? []);
  return set.find((s) => s.startsWith(`${SESSION_COOKIE}=`))?.split(';')[0];
};
const csrfOf = (html: string) => /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';
/** The text of the cells of the risk table's first data row. */
const riskCells = (html: string) => {
  const section = html.slice(html.indexOf('Risk and linkage report'));
  const table = /<caption[^>]*>Re-identification risk[\s\S]*?<\/table>/.exec(section)?.[0] ?? '';
  const row = /<tbody[^>]*>\s*<tr[^>]*>([\s\S]*?)<\/tr>/.exec(table)?.[1] ?? '';
  return [...row.matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((m) => m[1].replace(/<[^>]*>/g, '').trim());
};
const N = (i: number) => String(9_300_000_000 + i);

describe('portal: the public risk report and the register’s files (#24)', () => {
  let t: TestApp;
  let cookie: string;
  let bidId: string;
  let releaseId: string;

  beforeAll(async () => {
    t = await createTestApp();
    const officer = await t.as('release_officer');
    const org = await t.factory.organisation({ name: 'Leeds Cohort Unit', kind: 'academic' });
    const researcher = await t.factory.user({ roles: ['researcher'], organisationId: org.id });
    await seedPractice(t.sql);
    // 13 persons: a class of 10 (born 1970-05, F, LS1) and 3 alone in their class.
    let i = 0;
    const add = async (birth: string, sex: 'M' | 'F', postcode: string) =>
      addEvent(t.sql, await addPatient(t.sql, { nhs: N(++i), birth, sex, postcode }));
    for (let k = 0; k < 10; k++) await add('1970-05-17', 'F', 'LS1 4AP');
    await add('1990-02-03', 'F', 'LS3 1AA');
    await add('1991-03-04', 'M', 'LS4 2BB');
    await add('1992-04-05', 'F', 'LS5 3CC');
    const s = spec({
      recipients: [researcher.id],
      requestedBy: officer.user.id,
      tier: 'pseudonymised',
      datasets: [{ dataset: 'gp', fields: ['nhs_number', 'date_of_birth', 'sex', 'postcode', 'code'] }],
    });
    const done = await runRelease(t, s, { id: officer.user.id, roles: officer.user.roles });
    expect(done.failure_reason).toBeNull();
    bidId = s.bidId;
    releaseId = done.id;
    // The exact figures the officer reads, so the pages below can be checked not to show them.
    const exact = await t.http.get(`/api/releases/${releaseId}`).set(officer.auth).expect(200);
    expect(exact.body.riskReport.files[0]).toMatchObject({ persons: 13, uniquePersons: 3, smallestClass: 1 });

    const page = await t.http.get('/sign-in').expect(200);
    const res = await t.http
      .post('/sign-in')
      .set('cookie', cookieOf(page)!)
      .type('form')
      .send({ _csrf: csrfOf(page.text), email: researcher.email, password: TEST_PASSWORD });
    expect(res.status).toBe(303);
    cookie = cookieOf(res)!;
  }, 120_000);
  afterAll(() => t?.close());

  it('shows the recipient the risk report with the small-number rule: * for 1–7, 13 as 15', async () => {
    const res = await t.http.get(`/requests/${bidId}`).set('cookie', cookie).expect(200);
    expect(res.text).toContain('Risk and linkage report');
    const [file, quasi, persons, unique, smallest, risk, suppressed] = riskCells(res.text);
    expect(file).toBe('gp.csv.gz');
    expect(quasi).toContain('birth_year_month');
    expect(persons).toBe('15');
    expect(unique).toBe('* (*%)');
    expect(smallest).toBe('*');
    expect(risk).toBe('*');
    expect(suppressed).toBe('*'); // 0 to 7 alike (probe 27)
    // Never an exact figure of 1–7 nor the unrounded count, anywhere in the report.
    const report = res.text.slice(res.text.indexOf('Risk and linkage report'));
    expect(report).not.toMatch(/>\s*(13|3|1|23\.08|23)\s*[<(%]/);
    expect(res.text).toContain('Small numbers:');
  });

  it('lists each release’s files with size and SHA-256 on the public register, with the public risk summary', async () => {
    const api = await t.http.get('/api/register').expect(200);
    const line = (api.body as { releaseId: string | null; files: { name: string; sha256: string }[] }[]).find(
      (l) => l.releaseId === releaseId,
    )!;
    const files = line.files;
    expect(files.length).toBeGreaterThan(0);
    const res = await t.http.get('/public-register').expect(200);
    for (const f of files) {
      expect(res.text).toContain(f.name);
      expect(res.text).toContain(f.sha256);
    }
    expect(res.text).toMatch(/data-label="Files"/);
    expect(res.text).toMatch(/data-label="Risk"/);
    // The release's line (a decision line has no files and no report).
    const risk =
      [...res.text.matchAll(/data-label="Risk"[^>]*>([\s\S]*?)<\/td>/g)]
        .map((m) => m[1].replace(/<[^>]*>/g, ' '))
        .find((c) => c.includes('gp.csv.gz')) ?? '';
    expect(risk).toMatch(/gp\.csv\.gz/);
    expect(risk).toMatch(/15 persons/);
    expect(risk).not.toMatch(/\b13\b/);
  });

  it('carries each release’s files (name:bytes:sha256, joined by ;) in the register CSV, as its last column', async () => {
    const api = await t.http.get('/api/register').expect(200);
    const line = (
      api.body as { releaseId: string | null; files: { name: string; bytes: number; sha256: string }[] }[]
    ).find((l) => l.releaseId === releaseId)!;
    const csv = await t.http.get('/api/register?format=csv').expect(200);
    const [header, ...rows] = csv.text.trim().split('\r\n');
    expect(header.split(',').at(-1)).toBe('files');
    const row = rows.find((r) => r.includes(releaseId))!;
    expect(row.split(',').at(-1)).toBe(line.files.map((f) => `${f.name}:${f.bytes}:${f.sha256}`).join(';'));
    // A decision line has no files: an empty cell.
    expect(rows.some((r) => r.startsWith('decision,') && r.endsWith(','))).toBe(true);
  });
});
