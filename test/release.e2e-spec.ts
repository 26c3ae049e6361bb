import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { createTestApp, TestApp } from '@custodian/testing';
import { CATALOGUE_FIELDS, PERSON_FIELDS } from '@custodian/catalog';
import { ReleaseDestruction, ReleaseEngine, ReleaseService } from '@custodian/release';
import { DATASET_SQL } from '../libs/release/src/release-sql';
import { ReleaseKeys } from '../libs/release/src/keys';
import { kmFinding } from './km-check';
import {
  addEvent,
  addHes,
  addObjection,
  addPatient,
  addSocialCare,
  download,
  ensureActiveBid,
  hmacHex,
  newLoad,
  parseCsvGz,
  runRelease,
  seedPractice,
  spec,
  waitForRelease,
  otherOrganisationRecipient,
} from './release-helpers';

const N = (i: number) => String(9_000_000_000 + i);
// The cast of patients (NHS numbers).
const NORMAL = N(1); // GP + linked HES + linked social care
const TYPE2 = N(2); // active Type 2: GP, linked HES, unlinked HES and social care by NHS number
const TYPE1 = N(3); // Type 1: no GP data; HES and social care rows by NHS number only
const CONSENT = N(4); // in the consent cohort
const CONSENT_T2 = N(5); // in the consent cohort and a Type 2 objector
const WITHDRAWN = N(6); // Type 2 registered, then withdrawn: included
const LATE = N(7); // Type 2 recorded after the release starts: not in the snapshot
const UNLINKED = N(9); // a HES row for someone with no GP record, no objection

describe('release engine (SPEC §5)', () => {
  let t: TestApp;
  let officer: { id: string; roles: string[] };
  let officerAuth: Record<string, string>;
  let researcher: { id: string; auth: Record<string, string> };
  let other: { auth: Record<string, string> };

  beforeAll(async () => {
    // Cell-level disclosure control on small populations: the minimum population behind a table
    // (AGG_MIN_POPULATION) has its own tests (aggregate-minimum.e2e-spec.ts).
    t = await createTestApp({ AGG_MIN_POPULATION: '1', AGG_MIN_POPULATION_MARGIN: '0' });
    const o = await t.as('release_officer');
    officer = { id: o.user.id, roles: o.user.roles };
    officerAuth = o.auth;
    const r = await t.as('researcher');
    researcher = { id: r.user.id, auth: r.auth };
    other = { auth: (await t.as('researcher')).auth };

    await seedPractice(t.sql);
    const hes = await newLoad(t.sql, 'hes');
    const sc = await newLoad(t.sql, 'social_care');
    for (const nhs of [NORMAL, TYPE2, CONSENT, CONSENT_T2, WITHDRAWN, LATE]) {
      const id = await addPatient(t.sql, { nhs });
      await addEvent(t.sql, id);
      await addEvent(t.sql, id, '38341003', '2013-08-09');
      await addHes(t.sql, hes, { nhs: null, patientId: id, step: 6 });
      await addSocialCare(t.sql, sc, { nhs, patientId: id });
    }
    // Unlinked rows carrying objectors' NHS numbers, and one carrying nobody's.
    await addHes(t.sql, hes, { nhs: TYPE2 });
    await addSocialCare(t.sql, sc, { nhs: TYPE2 });
    await addHes(t.sql, hes, { nhs: TYPE1 });
    await addSocialCare(t.sql, sc, { nhs: TYPE1 });
    await addHes(t.sql, hes, { nhs: UNLINKED });
    await addHes(t.sql, hes, { nhs: null }); // no NHS number, not linked: cannot be checked, never released

    await addObjection(t.sql, TYPE2, 'type2');
    await addObjection(t.sql, TYPE1, 'type1');
    await addObjection(t.sql, CONSENT_T2, 'type2');
    await addObjection(t.sql, WITHDRAWN, 'type2', 'register', { effectiveOn: '2014-01-01' });
    await addObjection(t.sql, WITHDRAWN, 'type2', 'withdraw', { effectiveOn: '2014-02-01' });
    await addObjection(t.sql, LATE, 'type2', 'register', {
      recordedAt: new Date(Date.now() + 3600_000).toISOString(),
    });
  });
  afterAll(() => t?.close());
  // Each test's releases under an organisation of their own: a record-level release is compared
  // with the last release of every other bid of its organisation (release-ledger.ts).
  beforeEach(async () => {
    researcher = await otherOrganisationRecipient(t);
  });

  const ALL = [
    {
      dataset: 'gp' as const,
      fields: ['nhs_number', 'date_of_birth', 'postcode', 'sex', 'code', 'event_date'],
    },
    { dataset: 'hes' as const, fields: ['nhs_number', 'admission_date', 'diagnosis_icd10', 'linkage_step'] },
    { dataset: 'social_care' as const, fields: ['nhs_number', 'service_type', 'start_date'] },
  ];

  async function files(id: string) {
    const out: Record<string, { header: string[]; rows: Record<string, string>[] }> = {};
    for (const name of ['gp.csv.gz', 'hes.csv.gz', 'social_care.csv.gz']) {
      const res = await download(t, researcher.auth, id, name);
      if (res.status === 200) out[name] = parseCsvGz(res.body);
    }
    return out;
  }

  it('identifiable s251: every Type 2 and Type 1 objector is left out of GP, HES and social care, linked or not', async () => {
    const rel = await runRelease(
      t,
      spec({ tier: 'identifiable', datasets: ALL, recipients: [researcher.id], requestedBy: officer.id }),
      officer,
    );
    expect(rel).toMatchObject({ state: 'completed' });
    const f = await files(rel.id);
    expect(f['gp.csv.gz'].header).toEqual([
      'nhs_number',
      'date_of_birth',
      'postcode',
      'sex',
      'code',
      'event_date',
    ]);
    const nhs = (name: string) => new Set(f[name].rows.map((r) => r.nhs_number));
    for (const name of ['gp.csv.gz', 'hes.csv.gz', 'social_care.csv.gz']) {
      expect(nhs(name).has(TYPE2)).toBe(false);
      expect(nhs(name).has(TYPE1)).toBe(false);
      expect(nhs(name).has(CONSENT_T2)).toBe(false);
      expect(nhs(name).has(NORMAL)).toBe(true);
      expect(nhs(name).has(WITHDRAWN)).toBe(true);
      expect(nhs(name).has(LATE)).toBe(true); // recorded after the snapshot
    }
    expect([...nhs('hes.csv.gz')]).toContain(UNLINKED);
    expect(nhs('hes.csv.gz').has('')).toBe(false);
    expect(f['gp.csv.gz'].rows.find((r) => r.nhs_number === NORMAL)).toMatchObject({
      date_of_birth: '1970-05-17',
      postcode: 'LS1 4AP',
      sex: 'F',
    });
    // Staff see exact exclusion counts; the recipient does not.
    const staff = await t.http.get(`/api/releases/${rel.id}`).set(officerAuth).expect(200);
    expect(staff.body.excluded.persons).toMatchObject({ type2_objection: 2, type1_objection: 1 });
    expect(staff.body.excluded.rows.gp).toEqual({ type2_objection: 4 });
    expect(staff.body.excluded.rows.hes).toMatchObject({
      type2_objection: 3,
      type1_objection: 1,
      no_nhs_number_unlinked: 1,
    });
    expect(staff.body.manifest.objections).toMatchObject({ applied: true });
    // SPEC §5 step 4: officers and auditors read exact figures; an administrator (not named there)
    // reads the release as a recipient does (it read them all).
    const auditor = await t.http
      .get(`/api/releases/${rel.id}`)
      .set((await t.as('auditor')).auth)
      .expect(200);
    expect(auditor.body.excluded).toEqual(staff.body.excluded);
    const admin = await t.http
      .get(`/api/releases/${rel.id}`)
      .set((await t.as('admin')).auth)
      .expect(200);
    expect(admin.body).toMatchObject({ state: 'completed', tier: 'identifiable' });
    expect(admin.body.excluded).toBeUndefined();
    expect(admin.body.manifest).toBeUndefined();
    const mine = await t.http.get(`/api/releases/${rel.id}`).set(researcher.auth).expect(200);
    expect(mine.body.excluded).toBeUndefined();
    expect(mine.body.manifest).toBeUndefined();
    expect(mine.body).toMatchObject({ state: 'completed', tier: 'identifiable' });
    expect(mine.body.files.map((x: { name: string }) => x.name).sort()).toEqual([
      'data_dictionary.csv',
      'gp.csv.gz',
      'hes.csv.gz',
      'manifest.json',
      'social_care.csv.gz',
    ]);
    await t.http.get(`/api/releases/${rel.id}`).set(other.auth).expect(404);
    await download(t, other.auth, rel.id, 'gp.csv.gz').then((r) => expect(r.status).toBe(404));
  });

  it('pseudonymised: pseudo_id = HMAC-SHA256(bid key, NHS number), stable within a bid, different across bids; year-month and district', async () => {
    const s = spec({
      tier: 'pseudonymised',
      datasets: ALL,
      recipients: [researcher.id],
      requestedBy: officer.id,
    });
    const a = await runRelease(t, s, officer);
    const b = await runRelease(t, { ...s }, officer);
    const c = await runRelease(t, { ...s, bidId: '00000000-0000-4000-8000-000000000001' }, officer);
    for (const r of [a, b, c]) expect(r.state).toBe('completed');
    const [fa, fb, fc] = [await files(a.id), await files(b.id), await files(c.id)];
    expect(fa['gp.csv.gz'].header).toEqual([
      'pseudo_id',
      'birth_year_month',
      'postcode_district',
      'sex',
      'code',
      'event_date',
    ]);
    expect(fa['hes.csv.gz'].header).toEqual([
      'pseudo_id',
      'admission_date',
      'diagnosis_icd10',
      'linkage_step',
    ]);
    const key = await t.app.get(ReleaseKeys).bidKey(t.app.get(ReleaseEngine)['db'], s.bidId);
    const ids = (f: typeof fa) => new Set(Object.values(f).flatMap((x) => x.rows.map((r) => r.pseudo_id)));
    expect(ids(fa)).toEqual(ids(fb));
    expect(ids(fa).has(hmacHex(key, NORMAL))).toBe(true);
    expect(ids(fa).has(hmacHex(key, UNLINKED))).toBe(true);
    for (const objector of [TYPE1, TYPE2, CONSENT_T2])
      expect(ids(fa).has(hmacHex(key, objector))).toBe(false);
    expect([...ids(fa)].filter((x) => ids(fc).has(x))).toEqual([]);
    const row = fa['gp.csv.gz'].rows[0];
    expect(row).toMatchObject({ birth_year_month: '1970-05', postcode_district: 'LS1', sex: 'F' });
    expect(row.event_date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    // No identifier of the identifiable tier anywhere.
    const text = gunzipSync((await download(t, researcher.auth, a.id, 'gp.csv.gz')).body).toString();
    expect(text).not.toContain(NORMAL);
    expect(text).not.toContain('LS1 4AP');
  });

  it('public health emergency and statutory: Type 2 objectors included and the register says so; Type 1 never', async () => {
    for (const legalBasis of ['public_health_emergency', 'statutory'] as const) {
      const s = spec({
        tier: 'identifiable',
        legalBasis,
        datasets: ALL,
        recipients: [researcher.id],
        requestedBy: officer.id,
      });
      const rel = await runRelease(t, s, officer);
      const f = await files(rel.id);
      for (const name of ['gp.csv.gz', 'hes.csv.gz', 'social_care.csv.gz']) {
        const nhs = new Set(f[name].rows.map((r) => r.nhs_number));
        expect(nhs.has(TYPE2)).toBe(true);
        expect(nhs.has(TYPE1)).toBe(false);
      }
      // The release's line on the public register (written by the register library).
      const {
        rows: [line],
      } = await t.sql.query(
        `SELECT e.objections_applied, e.objections_note, e.details ->> 'agreementReference' AS agreement_reference,
                r.legal_basis
           FROM register_entries e JOIN releases r ON r.id = e.release_id WHERE e.release_id = $1`,
        [rel.id],
      );
      expect(line).toMatchObject({
        objections_applied: false,
        legal_basis: legalBasis,
        agreement_reference: 'DSA-TEST-1',
      });
      expect(line.objections_note).toMatch(legalBasis === 'statutory' ? /statutory/ : /emergency/);
      const manifest = JSON.parse(
        (await download(t, researcher.auth, rel.id, 'manifest.json')).body.toString(),
      );
      expect(manifest.objections).toMatchObject({ applied: false });
      const staff = await t.http.get(`/api/releases/${rel.id}`).set(officerAuth).expect(200);
      expect(staff.body.excluded.type2ObjectorsIncluded).toBe(2);
    }
  });

  it('consent: only the consenting cohort, whose consent overrides a Type 2 objection', async () => {
    const s = spec({
      tier: 'identifiable',
      legalBasis: 'consent',
      datasets: ALL,
      recipients: [researcher.id],
      requestedBy: officer.id,
    });
    await ensureActiveBid(t, s);
    for (const nhs of [CONSENT, CONSENT_T2, TYPE1])
      await t.sql.query(`INSERT INTO bid_cohort_members (bid_id, nhs_number) VALUES ($1, $2)`, [
        s.bidId,
        nhs,
      ]);
    const rel = await runRelease(t, s, officer);
    const f = await files(rel.id);
    for (const name of ['gp.csv.gz', 'hes.csv.gz', 'social_care.csv.gz'])
      expect(new Set(f[name].rows.map((r) => r.nhs_number))).toEqual(
        name === 'gp.csv.gz' || name === 'hes.csv.gz' || name === 'social_care.csv.gz'
          ? new Set([CONSENT, CONSENT_T2])
          : new Set(),
      );
  });

  it('a file per patient when no event field is requested; cohort filters narrow the persons', async () => {
    const rel = await runRelease(
      t,
      spec({
        tier: 'identifiable',
        datasets: [{ dataset: 'gp', fields: ['nhs_number', 'sex'] }],
        cohort: { conditionCodes: ['38341003'], eventsFrom: '2013-01-01', ageMin: 18 },
        recipients: [researcher.id],
        requestedBy: officer.id,
      }),
      officer,
    );
    const f = await files(rel.id);
    expect(f['gp.csv.gz'].header).toEqual(['nhs_number', 'sex']);
    expect(f['gp.csv.gz'].rows.map((r) => r.nhs_number).sort()).toEqual(
      [NORMAL, CONSENT, WITHDRAWN, LATE].sort(),
    );
  });

  it('manifest hashes match the downloaded bytes; ETag, range requests (206, 416); downloads audited', async () => {
    const rel = await runRelease(
      t,
      spec({ datasets: ALL, recipients: [researcher.id], requestedBy: officer.id }),
      officer,
    );
    const view = (await t.http.get(`/api/releases/${rel.id}`).set(researcher.auth).expect(200)).body;
    const manifestRes = await download(t, researcher.auth, rel.id, 'manifest.json');
    const manifest = JSON.parse(manifestRes.body.toString());
    expect(manifest).toMatchObject({
      release: rel.id,
      tier: 'pseudonymised',
      legalBasis: 's251',
      agreementReference: 'DSA-TEST-1',
    });
    expect(manifest.objections.snapshotAt).toMatch(/^\d{4}-/);
    expect(manifest.software.version).toBeTruthy();
    for (const entry of manifest.files) {
      const res = await download(t, researcher.auth, rel.id, entry.name);
      expect(res.status).toBe(200);
      expect(createHash('sha256').update(res.body).digest('hex')).toBe(entry.sha256);
      expect(res.body.length).toBe(entry.bytes);
      expect(res.headers.etag).toBe(`"${entry.sha256}"`);
      expect(Number(res.headers['content-length'])).toBe(entry.bytes);
      expect(view.files.find((x: { name: string }) => x.name === entry.name)).toMatchObject(entry);
    }
    const gp = manifest.files.find((x: { name: string }) => x.name === 'gp.csv.gz');
    const whole = (await download(t, researcher.auth, rel.id, 'gp.csv.gz')).body;
    const part = await download(t, researcher.auth, rel.id, 'gp.csv.gz', { Range: 'bytes=10-' });
    expect(part.status).toBe(206);
    expect(part.headers['content-range']).toBe(`bytes 10-${gp.bytes - 1}/${gp.bytes}`);
    expect(Buffer.concat([whole.subarray(0, 10), part.body]).equals(whole)).toBe(true);
    const tail = await download(t, researcher.auth, rel.id, 'gp.csv.gz', { Range: 'bytes=-5' });
    expect(tail.body.equals(whole.subarray(whole.length - 5))).toBe(true);
    const bad = await download(t, researcher.auth, rel.id, 'gp.csv.gz', { Range: `bytes=${gp.bytes}-` });
    expect(bad.status).toBe(416);
    expect(bad.headers['content-range']).toBe(`bytes */${gp.bytes}`);
    await download(t, researcher.auth, rel.id, 'secret.csv').then((r) => expect(r.status).toBe(404));
    const downloads = async () =>
      (
        await t.sql.query(
          `SELECT details->>'range' AS range FROM audit_log WHERE action = 'release.downloaded' AND subject_id = $1 AND actor_id = $2 ORDER BY id`,
          [rel.id, researcher.id],
        )
      ).rows.map((r: { range: string | null }) => r.range);
    const audited = await downloads();
    // Every answer that sent bytes, the range as the bytes sent; not the 416 (an outsider's probe:
    // a 416 and a HEAD were on the trail as downloads, with the header as the client wrote it).
    expect(audited.length).toBe(1 + manifest.files.length + 3);
    expect(audited.slice(-2)).toEqual([`10-${gp.bytes - 1}`, `${gp.bytes - 5}-${gp.bytes - 1}`]);
    const head = await t.http.head(`/api/releases/${rel.id}/files/gp.csv.gz`).set(researcher.auth);
    expect(head.status).toBe(200);
    expect(await downloads()).toEqual(audited);
    // If-Range (RFC 9110 §13.1.5): the range only while the file is the one the client names.
    const same = await download(t, researcher.auth, rel.id, 'gp.csv.gz', {
      Range: 'bytes=10-',
      'If-Range': `"${gp.sha256}"`,
    });
    expect(same.status).toBe(206);
    // If-None-Match (RFC 9110 §13.1.2): the file the client holds already is 304, nothing sent, no
    // download audited (an attack on the day's change: it was a 206 with the bytes).
    const before304 = (await downloads()).length;
    for (const held of [`"${gp.sha256}"`, `W/"${gp.sha256}"`, `"x", "${gp.sha256}"`, '*']) {
      const res = await download(t, researcher.auth, rel.id, 'gp.csv.gz', {
        'If-None-Match': held,
        Range: 'bytes=0-9',
      });
      expect(res.status, held).toBe(304);
      expect(res.body.length ?? 0, held).toBe(0);
    }
    expect((await downloads()).length).toBe(before304);
    const changed = await download(t, researcher.auth, rel.id, 'gp.csv.gz', { 'If-None-Match': '"0000"' });
    expect(changed.status).toBe(200);
    for (const other of ['"0000"', 'Wed, 21 Oct 2015 07:28:00 GMT', `W/"${gp.sha256}"`]) {
      const full = await download(t, researcher.auth, rel.id, 'gp.csv.gz', {
        Range: 'bytes=10-',
        'If-Range': other,
      });
      expect(full.status, other).toBe(200);
      expect(full.body.equals(whole), other).toBe(true);
    }
    // The data dictionary names every column of every file.
    const dict = (await download(t, researcher.auth, rel.id, 'data_dictionary.csv')).body.toString();
    expect(dict).toContain('gp.csv.gz,pseudo_id,');
    expect(dict).toContain('hes.csv.gz,linkage_step,');
  });

  it('a recipient who leaves the organisation or loses the researcher role reads and downloads nothing, signed in afresh', async () => {
    const admin = await t.as('admin');
    const mover = await t.as('researcher');
    const s = spec({ datasets: ALL, recipients: [mover.user.id], requestedBy: officer.id });
    const rel = await runRelease(t, s, officer);
    await t.http.get(`/api/releases/${rel.id}`).set(mover.auth).expect(200);
    await download(t, mover.auth, rel.id, 'gp.csv.gz').then((r) => expect(r.status).toBe(200));
    const signIn = async () => ({ Authorization: `Bearer ${await t.login(mover.user.email)}` });
    const moveTo = (organisationId: string, roles = ['researcher']) =>
      t.http.patch(`/api/users/${mover.user.id}`).set(admin.auth).send({ organisationId, roles }).expect(200);

    const elsewhere = await t.factory.organisation();
    await moveTo(elsewhere.id);
    let auth = await signIn();
    // The same answer as for a release that does not exist.
    const gone = await t.http.get(`/api/releases/${rel.id}`).set(auth).expect(404);
    const unknown = await t.http.get(`/api/releases/${randomUUID()}`).set(auth).expect(404);
    expect(gone.body.code).toBe(unknown.body.code);
    expect(gone.body.message).toBe(unknown.body.message);
    await download(t, auth, rel.id, 'gp.csv.gz').then((r) => expect(r.status).toBe(404));

    // Back in the bid's organisation: a recipient again.
    await moveTo(s.organisationId);
    auth = await signIn();
    await download(t, auth, rel.id, 'gp.csv.gz').then((r) => expect(r.status).toBe(200));
    // Still in it, but a researcher no longer.
    await moveTo(s.organisationId, ['researcher', 'auditor']);
    await t.sql.query(`UPDATE users SET roles = ARRAY['auditor'] WHERE id = $1`, [mover.user.id]);
    await download(t, auth, rel.id, 'gp.csv.gz').then((r) => expect(r.status).not.toBe(200));
  });

  it('release files and their folders are readable by the service user alone (0600 / 0700), DATA_DIR too', async () => {
    const rel = await runRelease(
      t,
      spec({ datasets: ALL, recipients: [researcher.id], requestedBy: officer.id }),
      officer,
    );
    const dir = path.join(t.config.dataDir, rel.id);
    const modes: string[] = [];
    const walk = (d: string) => {
      modes.push(`${path.relative(t.config.dataDir, d) || '.'} ${(statSync(d).mode & 0o777).toString(8)}`);
      for (const e of readdirSync(d, { withFileTypes: true })) {
        const full = path.join(d, e.name);
        if (e.isDirectory()) walk(full);
        else
          modes.push(`${path.relative(t.config.dataDir, full)} ${(statSync(full).mode & 0o777).toString(8)}`);
      }
    };
    walk(dir);
    expect(modes.length).toBeGreaterThan(3);
    for (const m of modes) expect(m).toMatch(/ (600|700)$/);
    expect((statSync(t.config.dataDir).mode & 0o777).toString(8)).toBe('700');
  });

  it('destruction: downloads stop at once, files are deleted, the audit trail records it', async () => {
    const s = spec({ datasets: ALL, recipients: [researcher.id], requestedBy: officer.id });
    const rel = await runRelease(t, s, officer);
    await download(t, researcher.auth, rel.id, 'gp.csv.gz').then((r) => expect(r.status).toBe(200));
    await t.app.get(ReleaseDestruction).destroy(s.bidId, 'agreement revoked');
    const res = await download(t, researcher.auth, rel.id, 'gp.csv.gz');
    expect(res.status).toBe(409);
    expect(JSON.parse(res.body.toString()).code).toBe('RELEASE_NOT_DOWNLOADABLE');
    expect(existsSync(path.join(t.config.dataDir, rel.id))).toBe(false);
    const { rows } = await t.sql.query(
      `SELECT r.destroyed_at, (SELECT count(*)::int FROM audit_log a WHERE a.action = 'release.destroyed' AND a.subject_id = r.id::text) AS n
         FROM releases r WHERE r.id = $1`,
      [rel.id],
    );
    expect(rows[0].destroyed_at).toBeTruthy();
    expect(rows[0].n).toBe(1);
  });

  it('anonymised: person tokens new per release, generalised quasi-identifiers, classes of at least k; manifest records k and levels', async () => {
    await seedPractice(t.sql, 'B82002');
    await t.sql.query(
      `INSERT INTO patients (nhs_number, birth_date, sex, postcode, ethnicity, practice_ods, source_id)
       SELECT (9300000000 + g)::text, DATE '1940-01-01' + (g * 97 % 25000), CASE WHEN g % 2 = 0 THEN 'M' ELSE 'F' END,
              (ARRAY['LS1 4AP', 'LS6 2AA', 'BD1 1AA', 'M1 1AE', 'EC1A 1BB'])[1 + g % 5], (ARRAY['A', 'B', 'H', 'M', 'Z', 'D'])[1 + g % 6],
              'B82002', g::text
         FROM generate_series(1, 400) g`,
    );
    await t.sql.query(
      `INSERT INTO gp_events (patient_id, practice_ods, resource_type, resource_id, code_system, code, event_date)
       SELECT id, practice_ods, 'condition', 'x', 'snomed', '22298006', DATE '2012-02-03' + (id % 300)::int FROM patients WHERE practice_ods = 'B82002'`,
    );
    const s = spec({
      tier: 'anonymised',
      legalBasis: 'none',
      datasets: [
        {
          dataset: 'gp',
          fields: ['nhs_number', 'date_of_birth', 'postcode', 'sex', 'ethnicity', 'code', 'event_date'],
        },
      ],
      cohort: { practices: ['B82002'] },
      recipients: [researcher.id],
      requestedBy: officer.id,
    });
    const a = await runRelease(t, s, officer);
    const b = await runRelease(t, s, officer);
    expect(a.state).toBe('completed');
    const fa = parseCsvGz((await download(t, researcher.auth, a.id, 'gp.csv.gz')).body);
    const fb = parseCsvGz((await download(t, researcher.auth, b.id, 'gp.csv.gz')).body);
    expect(fa.header).toEqual(['person_token', 'age_band', 'area', 'sex', 'ethnicity', 'code', 'event_date']);
    const tokens = new Set(fa.rows.map((r) => r.person_token));
    expect(tokens.size).toBeGreaterThanOrEqual(380);
    expect(fb.rows.some((r) => tokens.has(r.person_token))).toBe(false); // new per release
    const classes = new Map<string, Set<string>>();
    for (const r of fa.rows) {
      expect(r.age_band).toMatch(/^(\d+-\d+|\*)$/);
      // Year and month, or coarser as kᵐ-anonymity needs (issue #27).
      expect(r.event_date).toMatch(/^(\d{4}-\d{2}|\d{4}|\*)$/);
      const key = `${r.age_band}|${r.area}|${r.sex}|${r.ethnicity}`;
      classes.set(key, (classes.get(key) ?? new Set()).add(r.person_token));
    }
    for (const m of classes.values()) expect(m.size).toBeGreaterThanOrEqual(10);
    // Events are quasi-identifiers too: no person singled out by their class and ≤ 2 events.
    expect(kmFinding({ gp: fa }, 10, 2).exposed).toBe(0);
    const manifest = JSON.parse((await download(t, researcher.auth, a.id, 'manifest.json')).body.toString());
    expect(manifest.kAnonymity).toMatchObject({ k: 10, population: 400 });
    expect(manifest.kmAnonymity).toMatchObject({ k: 10, m: 2 });
    expect(Object.keys(manifest.kAnonymity.levels).sort()).toEqual(['age', 'area', 'ethnicity']);
    // Persons suppressed, under the small-number rule with 0 alike (`*` for 0-7, review-27).
    const suppressed = manifest.kAnonymity.suppressed;
    expect(suppressed === '*' || suppressed <= 20).toBe(true);
    const text = gunzipSync((await download(t, researcher.auth, a.id, 'gp.csv.gz')).body).toString();
    expect(text).not.toMatch(/93000\d{5}/);

    // Too small a population for k: the release fails with a clear reason and leaves no files. (A
    // bid of its own: a release of the same bid would be compared with the ones above, #27.)
    const tiny = await runRelease(
      t,
      { ...s, bidId: randomUUID(), cohort: { practices: ['A81001'] } },
      officer,
    );
    expect(tiny.state).toBe('failed');
    expect(tiny.failure_reason).toMatch(/^K_ANONYMITY_UNACHIEVABLE/);
    expect(existsSync(path.join(t.config.dataDir, tiny.id))).toBe(false);
  });

  it('aggregate: distinct-patient counts, small counts suppressed, others rounded to 5, everyone counted', async () => {
    const rel = await runRelease(
      t,
      spec({
        tier: 'aggregate',
        legalBasis: 'none',
        datasets: [{ dataset: 'gp', fields: ['code'] }],
        aggregation: { dimensions: ['sex', 'code'] },
        cohort: { practices: ['A81001', 'B82002'] },
        recipients: [researcher.id],
        requestedBy: officer.id,
      }),
      officer,
    );
    expect(rel.state).toBe('completed');
    const agg = parseCsvGz((await download(t, researcher.auth, rel.id, 'aggregate.csv.gz')).body);
    expect(agg.header).toEqual(['sex', 'code', 'patients']);
    const cell = (sex: string, code: string) =>
      agg.rows.find((r) => r.sex === sex && r.code === code)?.patients;
    // A81001's 6 F patients (objectors counted too) are the only ones with 38341003: primary
    // suppression; F's other cell would give it away from the F total, then M's from the code total.
    // The empty cell (M, 38341003) is shown too, as `*` (#27: every cell of the cross-product).
    expect(agg.rows).toHaveLength(4);
    expect(cell('M', '38341003')).toBe('*');
    expect(cell('F', '38341003')).toBe('*');
    expect(cell('F', '22298006')).toBe('*');
    expect(cell('M', '22298006')).toBe('*');
    // Another organisation (the differencing guard, #25, compares one organisation's tables).
    const other = await otherOrganisationRecipient(t);
    const bySex = await runRelease(
      t,
      spec({
        tier: 'aggregate',
        legalBasis: 'none',
        datasets: [{ dataset: 'gp', fields: ['code'] }],
        aggregation: { dimensions: ['sex'] },
        cohort: { practices: ['A81001', 'B82002'] },
        recipients: [other.id],
        requestedBy: officer.id,
      }),
      officer,
    );
    const sexes = parseCsvGz((await download(t, other.auth, bySex.id, 'aggregate.csv.gz')).body).rows;
    expect(Object.fromEntries(sexes.map((r) => [r.sex, r.patients]))).toEqual({ F: '205', M: '200' });
    const manifest = JSON.parse(
      (await download(t, researcher.auth, rel.id, 'manifest.json')).body.toString(),
    );
    expect(manifest.objections).toMatchObject({ applied: false });
    expect(manifest.disclosureControl).toMatchObject({ primarySuppressionMax: 7, roundingBase: 5 });
  });

  it('refuses a field outside the catalogue, at request time and again at run time', async () => {
    const bad = spec({
      datasets: [{ dataset: 'gp', fields: ['nhs_number', 'name'] }],
      recipients: [researcher.id],
      requestedBy: officer.id,
    });
    await expect(t.app.get(ReleaseService).request(bad, officer as never)).rejects.toMatchObject({
      code: 'RELEASE_FIELD_NOT_IN_CATALOGUE',
    });
    // A spec tampered with after the request is refused by the job and leaves no files.
    const ok = spec({
      datasets: [{ dataset: 'gp', fields: ['nhs_number'] }],
      recipients: [researcher.id],
      requestedBy: officer.id,
    });
    await ensureActiveBid(t, ok);
    const { id } = await t.app.get(ReleaseService).request(ok, officer as never);
    await t.sql.query(
      `UPDATE releases SET spec = jsonb_set(spec, '{datasets,0,fields}', '["nhs_number","name"]') WHERE id = $1`,
      [id],
    );
    const done = await waitForRelease(t, id);
    // The job may have started before the tampering, or be running when it lands (since the worker
    // takes a job the moment it is queued: its verification then reads the tampered spec and
    // refuses the files); either way nothing outside the catalogue leaves.
    if (done.state === 'failed') {
      expect(done.failure_reason).toMatch(/RELEASE_FIELD_NOT_IN_CATALOGUE|RELEASE_VERIFICATION_FAILED/);
      expect(
        existsSync(path.join(t.config.dataDir, id)) ? readdirSync(path.join(t.config.dataDir, id)) : [],
      ).toEqual([]);
    } else {
      expect(parseCsvGz((await download(t, researcher.auth, id, 'gp.csv.gz')).body).header).toEqual([
        'pseudo_id',
      ]);
    }
  });

  it('the engine knows exactly the fields of the published catalogue, and how to produce each', async () => {
    // The catalogue researchers bid from (catalog_fields, seeded by migration) and the engine's own
    // list must not drift: a field only in the catalogue could be approved yet never produced; a
    // field only in the engine could leave without being published.
    const { rows } = await t.sql.query(`SELECT dataset, name FROM catalog_fields ORDER BY dataset, position`);
    const published: Record<string, string[]> = {};
    for (const r of rows) (published[r.dataset] ??= []).push(r.name);
    expect(published).toEqual(
      Object.fromEntries(Object.entries(CATALOGUE_FIELDS).map(([d, f]) => [d, [...f]])),
    );
    for (const [dataset, fields] of Object.entries(CATALOGUE_FIELDS))
      for (const f of fields)
        expect(
          PERSON_FIELDS.has(f) || f in DATASET_SQL[dataset as keyof typeof DATASET_SQL].event,
          `${dataset}.${f}`,
        ).toBe(true);
  });

  // Last: it adds a patient with codes of its own, which the counting tests above do not expect.
  it('released cells are data, never spreadsheet formulas: formula-leading source values get an apostrophe, signed numbers do not', async () => {
    const nhs = N(40);
    const id = await addPatient(t.sql, { nhs });
    await t.sql.query(
      `INSERT INTO gp_events (patient_id, practice_ods, resource_type, resource_id, code_system, code, event_date, value)
       SELECT $1, practice_ods, 'observation', v.rid, 'snomed', '27113001', '2013-02-02', v.value
         FROM patients, (VALUES ('f1', '-1.5'), ('f2', '=1+2'), ('f3', '@SUM(A1)')) v(rid, value) WHERE id = $1`,
      [id],
    );
    const load = await newLoad(t.sql, 'social_care');
    await t.sql.query(
      `INSERT INTO social_care_records (la_code, person_id, nhs_number, birth_date, sex, postcode, service_type, start_date, load_id, patient_id, linkage_step)
       VALUES ('E08000035', 'p-40', $1, '1970-05-17', 'F', 'LS3 1AA', '=HYPERLINK("x")', '2013-01-01', $2, $3, 2),
              ('E08000035', 'p-41', $1, '1970-05-17', 'F', 'LS3 1AA', '+2-1', '2013-01-02', $2, $3, 2)`,
      [nhs, load, id],
    );
    const rel = await runRelease(
      t,
      spec({
        datasets: [
          { dataset: 'gp', fields: ['nhs_number', 'code', 'value'] },
          { dataset: 'social_care', fields: ['nhs_number', 'service_type'] },
        ],
        cohort: {},
        recipients: [researcher.id],
        requestedBy: officer.id,
      }),
      officer,
    );
    expect(rel.state).toBe('completed');
    const gp = gunzipSync((await download(t, researcher.auth, rel.id, 'gp.csv.gz')).body).toString();
    const mine = gp.split('\n').filter((l) => l.includes(',27113001,'));
    const values = mine.map((l) => l.split(',').pop());
    // An observation's value is a number and a unit code (probe 14): formulas held from before are
    // not released at all; a signed number needs no apostrophe.
    expect(values.sort()).toEqual(['', '', '-1.5']);
    const sc = gunzipSync((await download(t, researcher.auth, rel.id, 'social_care.csv.gz')).body).toString();
    // A service type that is no code (held from before the loaders checked formats) is not released
    // at all (#19: never free text); the apostrophe stays the guard of every other text cell.
    expect(sc).not.toContain('HYPERLINK');
    expect(sc).not.toContain('+2-1');
    expect(
      sc
        .trim()
        .split('\n')
        .filter((l) => l.endsWith(',')),
    ).toHaveLength(2);
    for (const line of sc.split('\n').slice(1)) expect(line.split(',').pop() ?? '').not.toMatch(/^[=+@]/);
  });

  it("aggregate: Type 1 objectors' hospital and social-care rows are counted nowhere, and a consent cohort never applies", async () => {
    const agg = (legalBasis: 'none' | 'consent', consentCohort?: boolean) =>
      runRelease(
        t,
        spec({
          tier: 'aggregate',
          legalBasis,
          ...(consentCohort ? { consentCohort } : {}),
          datasets: [
            { dataset: 'hes', fields: ['diagnosis_icd10'] },
            { dataset: 'social_care', fields: ['service_type'] },
          ],
          aggregation: { dimensions: ['sex'] },
          recipients: [researcher.id],
          requestedBy: officer.id,
        }),
        officer,
      );
    const plain = await agg('none');
    expect(plain.state).toBe('completed');
    const staff = (await t.http.get(`/api/releases/${plain.id}`).set(officerAuth).expect(200)).body;
    // TYPE1 has an unlinked HES row and a social-care row carrying their NHS number.
    expect(staff.excluded.rows.hes.type1_objection).toBeGreaterThanOrEqual(1);
    expect(staff.excluded.rows.social_care.type1_objection).toBeGreaterThanOrEqual(1);
    // Type 2 objectors are counted at this tier.
    expect(staff.excluded.rows.hes.type2_objection).toBeUndefined();
    const manifest = JSON.parse(
      (await download(t, researcher.auth, plain.id, 'manifest.json')).body.toString(),
    );
    expect(manifest.objections.type1).toMatch(/excluded from every release/);

    const consent = await agg('consent', true);
    expect(consent.state).toBe('completed');
    const c = (await t.http.get(`/api/releases/${consent.id}`).set(officerAuth).expect(200)).body;
    expect(JSON.stringify(c.excluded)).not.toContain('not_in_consent_cohort');
  });
});
