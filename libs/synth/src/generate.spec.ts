import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { isValidNhsNumber, normalisePostcode, POSTCODE } from '@custodian/core';
import { generate, practiceLines, SynthManifest } from './generate';
import { Population } from './population';
import {
  ETHNIC_CATEGORIES,
  ETHNIC_CATEGORY_EXTENSION,
  NHS_NUMBER_SYSTEM,
  ODS_SYSTEM,
  READ_V2,
  SNOMED,
} from './reference-data';
import { DEFAULT_ERROR_MODEL, errorModel, parseErrorModel } from './error-model';
import { HES_HEADER, SOCIAL_CARE_HEADER, TRUTH_HEADER } from './secondary';

/* eslint-disable @typescript-eslint/no-explicit-any -- parsed FHIR JSON is checked field by field */

const AS_OF = '2025-06-30';
const ISO = /^\d{4}-\d{2}-\d{2}$/;
const ETHNIC_CODES = new Set(ETHNIC_CATEGORIES.map((e) => e.code));
const OBJECTION_CODES = new Map([
  ['9Nu0', { type: 'type1', action: 'register', system: READ_V2 }],
  ['827241000000103', { type: 'type1', action: 'register', system: SNOMED }],
  ['9Nu1', { type: 'type1', action: 'withdraw', system: READ_V2 }],
  ['9Nu4', { type: 'type2', action: 'register', system: READ_V2 }],
  ['9Nu5', { type: 'type2', action: 'withdraw', system: READ_V2 }],
]);

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'synth-'));
  dirs.push(d);
  return d;
}
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** Plain checks in the per-line loops (expect() per line is slow); failures are listed at the end. */
class Problems {
  readonly list: string[] = [];
  check(ok: boolean, what: string): void {
    if (!ok && this.list.length < 20) this.list.push(what);
  }
}

const lines = (text: string) => text.split('\n').filter((l) => l.length > 0);
const isDate = (s: unknown) =>
  typeof s === 'string' && ISO.test(s) && !Number.isNaN(Date.parse(`${s}T00:00:00Z`));

interface GpPerson {
  nhs: string;
  birthDate: string;
  gender: string;
  postcode: string;
  ods: string;
}

/** Reads every practice file, checking each line against the SPEC §2 shape as it goes. */
async function readPractices(dir: string, manifest: SynthManifest) {
  const problems = new Problems();
  const check = problems.check.bind(problems);
  const people = new Map<string, GpPerson>();
  const objections = new Map<string, { type: string; action: string; date: string }[]>();
  let resources = 0;
  let withValue = 0;
  let readCoded = 0;
  let stripped = 0;
  for (const practice of manifest.practices) {
    const ids = new Map<string, GpPerson>();
    const text = await readFile(join(dir, practice.file), 'utf8');
    for (const line of lines(text)) {
      const r = JSON.parse(line) as any;
      resources++;
      const at = `${practice.file}:${resources}`;
      check(typeof r.id === 'string' && r.id.length > 0 && r.id.length <= 64, `${at} id`);
      if (r.resourceType === 'Patient') {
        const nhs = r.identifier?.find((i: any) => i.system === NHS_NUMBER_SYSTEM)?.value;
        check(isValidNhsNumber(nhs), `${at} NHS number`);
        check(isDate(r.birthDate) && r.birthDate >= '1895-01-01' && r.birthDate <= AS_OF, `${at} birthDate`);
        check(['male', 'female', 'other', 'unknown'].includes(r.gender), `${at} gender`);
        const postcode = r.address?.[0]?.postalCode;
        check(POSTCODE.test(postcode) && normalisePostcode(postcode) === postcode, `${at} postcode`);
        check(postcode.startsWith(practice.area), `${at} postcode area`);
        const ethnic = r.extension?.find((e: any) => e.url === ETHNIC_CATEGORY_EXTENSION);
        check(
          !ethnic || ETHNIC_CODES.has(ethnic.valueCodeableConcept.coding[0].code),
          `${at} ethnic category`,
        );
        const gpId = r.generalPractitioner?.[0]?.identifier;
        check(gpId?.system === ODS_SYSTEM && gpId?.value === practice.ods, `${at} generalPractitioner`);
        // What the practice holds and the extractor must strip.
        if (
          typeof r.name?.[0]?.family === 'string' &&
          r.telecom?.length > 0 &&
          typeof r.address[0].line?.[0] === 'string'
        )
          stripped++;
        check(!people.has(nhs), `${at} NHS number repeated`);
        const person = { nhs, birthDate: r.birthDate, gender: r.gender, postcode, ods: practice.ods };
        people.set(nhs, person);
        ids.set(r.id, person);
        continue;
      }
      check(
        ['Condition', 'Procedure', 'MedicationStatement', 'Observation'].includes(r.resourceType),
        `${at} type`,
      );
      const ref = /^Patient\/(.+)$/.exec(r.subject?.reference ?? '');
      const person = ref ? ids.get(ref[1]) : undefined;
      check(person !== undefined, `${at} subject is a Patient earlier in the same file`);
      if (!person) continue;
      const coded = r.resourceType === 'MedicationStatement' ? r.medicationCodeableConcept : r.code;
      const coding = coded?.coding?.[0];
      check([SNOMED, READ_V2].includes(coding?.system), `${at} code system`);
      check(/^[A-Za-z0-9.]{4,18}$/.test(coding?.code), `${at} code`);
      if (coding?.system === READ_V2) readCoded++;
      const date =
        r.resourceType === 'Condition'
          ? r.onsetDateTime
          : r.resourceType === 'Procedure'
            ? r.performedDateTime
            : r.effectiveDateTime;
      check(isDate(date) && date >= person.birthDate && date <= AS_OF, `${at} date`);
      if (r.resourceType === 'Condition')
        check(isDate(r.recordedDate) && r.recordedDate >= date, `${at} recordedDate`);
      if (r.valueQuantity) {
        check(
          typeof r.valueQuantity.value === 'number' && typeof r.valueQuantity.unit === 'string',
          `${at} value`,
        );
        withValue++;
      }
      const objection = OBJECTION_CODES.get(coding?.code);
      if (objection) {
        check(
          r.resourceType === 'Observation' && coding.system === objection.system,
          `${at} objection coding`,
        );
        const list = objections.get(person.nhs) ?? [];
        list.push({ type: objection.type, action: objection.action, date });
        objections.set(person.nhs, list);
      }
    }
  }
  return { people, objections, resources, withValue, readCoded, stripped, problems: problems.list };
}

function csv(text: string): string[][] {
  return lines(text).map((l) => l.split(','));
}

describe('generate', () => {
  let dir: string;
  let manifest: SynthManifest;
  let gp: Awaited<ReturnType<typeof readPractices>>;

  beforeAll(async () => {
    dir = await tempDir();
    manifest = await generate({
      practices: 4,
      patients: 20_000,
      seed: 11,
      eventsPerPatient: 2,
      asOf: AS_OF,
      outDir: dir,
    });
    gp = await readPractices(dir, manifest);
  });

  it('writes one export per practice plus the CSVs and the manifest', async () => {
    expect((await readdir(dir)).sort()).toEqual([
      'A81001.ndjson',
      'A81002.ndjson',
      'A81003.ndjson',
      'A81004.ndjson',
      'hes.csv',
      'linkage_truth.csv',
      'manifest.json',
      'social_care.csv',
    ]);
    expect(JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'))).toEqual(manifest);
    expect(manifest.seed).toBe(11);
    expect(manifest.generator.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(manifest.practices.reduce((a, p) => a + p.patients, 0)).toBe(20_000);
  });

  it('produces valid FHIR lines whose counts agree with the manifest', () => {
    expect(gp.problems).toEqual([]);
    expect(gp.stripped, 'every Patient carries a name, telecom and address lines').toBe(20_000);
    const c = manifest.counts;
    expect(gp.people.size).toBe(20_000);
    expect(gp.resources).toBe(c.resources);
    expect(c.resources).toBe(c.patients + c.events + c.objectionEntries);
    expect(c.events).toBe(c.conditions + c.procedures + c.medications + c.observations);
    expect(c.events / c.patients).toBeGreaterThan(1.7);
    expect(c.events / c.patients).toBeLessThan(2.3);
    expect(gp.withValue).toBeGreaterThan(0);
    expect(gp.readCoded).toBeGreaterThan(0);
    const files = manifest.files.filter((f) => f.name.endsWith('.ndjson'));
    expect(files.reduce((a, f) => a + f.lines, 0)).toBe(c.resources);
  });

  it('has about 3% Type 1 and 3% Type 2 objectors, withdrawals after objections, and re-registrations', () => {
    const { type1, type2 } = manifest.counts.objectors;
    for (const t of [type1, type2]) {
      expect(t.patients / 20_000).toBeGreaterThan(0.025);
      expect(t.patients / 20_000).toBeLessThan(0.035);
      expect(t.withdrawn).toBeGreaterThan(0);
      expect(t.reRegistered).toBeGreaterThan(0);
      expect(t.active).toBe(t.patients - t.withdrawn + t.reRegistered);
    }
    const problems = new Problems();
    const check = problems.check.bind(problems);
    let objectors1 = 0;
    for (const [nhs, entries] of gp.objections) {
      for (const type of ['type1', 'type2']) {
        const mine = entries.filter((e) => e.type === type);
        if (!mine.length) continue;
        if (type === 'type1') objectors1++;
        // register, withdraw, register…: each strictly later than the one before.
        mine.forEach((e, k) => {
          check(e.action === (k % 2 === 0 ? 'register' : 'withdraw'), `${nhs} entry ${k} action`);
          if (k > 0) check(e.date > mine[k - 1].date, `${nhs} entry ${k} not after the previous one`);
        });
      }
    }
    expect(problems.list).toEqual([]);
    expect(objectors1).toBe(type1.patients);
  });

  it('age and sex look like a UK population', () => {
    const ages = [...gp.people.values()].map((p) => 2025 - Number(p.birthDate.slice(0, 4)));
    const share = (f: (a: number) => boolean) => ages.filter(f).length / ages.length;
    expect(share((a) => a < 16)).toBeGreaterThan(0.15);
    expect(share((a) => a < 16)).toBeLessThan(0.22);
    expect(share((a) => a >= 65)).toBeGreaterThan(0.15);
    expect(share((a) => a >= 65)).toBeLessThan(0.23);
    expect(share((a) => a >= 90)).toBeLessThan(0.02);
    const female = [...gp.people.values()].filter((p) => p.gender === 'female').length / gp.people.size;
    expect(female).toBeGreaterThan(0.48);
    expect(female).toBeLessThan(0.54);
  });

  it('hes.csv: the header, row formats, and rows that point at the GP population except where intended', async () => {
    const rows = csv(await readFile(join(dir, 'hes.csv'), 'utf8'));
    expect(rows[0].join(',')).toBe(HES_HEADER);
    const truth = new Map(
      csv(await readFile(join(dir, 'linkage_truth.csv'), 'utf8'))
        .slice(1)
        .filter((r) => r[0] === 'hes')
        .map((r) => [r[1], { nhs: r[2], inGp: r[3] === '1', flags: new Set(r[4] ? r[4].split('|') : []) }]),
    );
    const body = rows.slice(1);
    expect(body.length).toBe(manifest.counts.hesRows);
    expect(body.length / 20_000).toBeGreaterThan(0.8);
    expect(body.length / 20_000).toBeLessThan(1.25);
    const keys = new Set<string>();
    let missing = 0;
    let unmatched = 0;
    let moved = 0;
    let zz99 = 0;
    let swapped = 0;
    const problems = new Problems();
    const check = problems.check.bind(problems);
    for (const row of body) {
      check(row.length === 9, `row ${row[0]} has ${row.length} fields`);
      const [epikey, nhs, dob, sex, homeadd, admidate, diag, opcs, procode] = row;
      check(/^\d{12}$/.test(epikey), `row ${epikey} epikey`);
      check(!keys.has(epikey), `row ${epikey} repeated`);
      keys.add(epikey);
      check(nhs === '' || isValidNhsNumber(nhs), `row ${epikey} nhs === '' || isValidNhsNumber(nhs)`);
      check(isDate(dob), `row ${epikey} isDate(dob)`);
      check(['1', '2', '9', '0'].includes(sex), `row ${epikey} ['1', '2', '9', '0']`);
      check(POSTCODE.test(homeadd), `row ${epikey} homeadd`);
      check(isDate(admidate) && admidate <= AS_OF, `row ${epikey} isDate(admidate) && admidate <= AS_OF`);
      check(/^[A-Z]\d{2}[0-9X]$/.test(diag), `row ${epikey} diag`);
      check(/^([A-Z]\d{3})?$/.test(opcs), `row ${epikey} opcs`);
      check(/^R[A-Z0-9]{2}$/.test(procode), `row ${epikey} procode`);
      const t = truth.get(epikey);
      check(t !== undefined, `row ${epikey} has no truth line`);
      if (!t) continue;
      const person = gp.people.get(t.nhs);
      check(Boolean(person) === t.inGp, `row ${epikey} in GP population`);
      if (!t.inGp) unmatched++;
      if (nhs === '') missing++;
      else check(nhs === t.nhs, `row ${epikey} nhs`);
      check(t.flags.has('missing_nhs_number') === (nhs === ''), `row ${epikey} missing NHS number flag`);
      if (homeadd.startsWith('ZZ99')) zz99++;
      if (t.flags.has('moved')) moved++;
      if (t.flags.has('dob_swapped')) {
        swapped++;
        if (person) {
          const [y, m, d] = person.birthDate.split('-');
          check(dob === `${y}-${d}-${m}`, `row ${epikey} dob`);
        }
      }
      if (!person) continue;
      // A registered person's row: DOB, postcode and sex agree with the GP record unless flagged.
      if (!t.flags.has('dob_swapped') && !t.flags.has('dob_error'))
        check(dob === person.birthDate, `row ${epikey} dob`);
      else check(dob !== person.birthDate, `row ${epikey} DOB error that changes nothing`);
      if (!t.flags.has('moved') && !t.flags.has('zz99'))
        check(homeadd === person.postcode, `row ${epikey} homeadd`);
      if (t.flags.has('moved') && !t.flags.has('zz99'))
        check(homeadd !== person.postcode, `row ${epikey} moved`);
      if (!t.flags.has('sex_not_recorded'))
        check(
          sex === { male: '1', female: '2', other: '9', unknown: '0' }[person.gender],
          `row ${epikey} sex`,
        );
    }
    expect(problems.list).toEqual([]);
    const n = body.length;
    expect(missing / n).toBeGreaterThan(0.035);
    expect(missing / n).toBeLessThan(0.065);
    expect(unmatched / n).toBeGreaterThan(0.018);
    expect(unmatched / n).toBeLessThan(0.045);
    expect(moved / n).toBeGreaterThan(0.07);
    expect(moved / n).toBeLessThan(0.16);
    expect(swapped / n).toBeGreaterThan(0.01);
    expect(swapped / n).toBeLessThan(0.04);
    expect(zz99).toBeGreaterThan(0);
    expect(manifest.counts.hesUnmatchedRows).toBe(unmatched);
    expect(manifest.counts.hesMissingNhsNumber).toBe(missing);
  });

  it('social_care.csv: the header, row formats, blank NHS numbers, and matching people', async () => {
    const rows = csv(await readFile(join(dir, 'social_care.csv'), 'utf8'));
    expect(rows[0].join(',')).toBe(SOCIAL_CARE_HEADER);
    const body = rows.slice(1);
    expect(body.length).toBe(manifest.counts.socialCareRows);
    expect(body.length).toBeGreaterThan(500);
    const keys = new Set<string>();
    let blank = 0;
    let inGp = 0;
    const problems = new Problems();
    const check = problems.check.bind(problems);
    for (const row of body) {
      check(row.length === 9, `row ${row[0]}/${row[1]} has ${row.length} fields`);
      const [la, personId, nhs, dob, gender, postcode, service, start, end] = row;
      check(/^E\d{8}$/.test(la), `row ${la}/${personId} la`);
      check(/^P\d{8}$/.test(personId), `row ${la}/${personId} personId`);
      check(nhs === '' || isValidNhsNumber(nhs), `row ${la}/${personId} nhs === '' || isValidNhsNumber(nhs)`);
      if (nhs === '') blank++;
      else if (gp.people.has(nhs)) inGp++;
      check(isDate(dob), `row ${la}/${personId} isDate(dob)`);
      check(['M', 'F', 'U'].includes(gender), `row ${la}/${personId} ['M', 'F', 'U']`);
      check(
        postcode === '' || POSTCODE.test(postcode),
        `row ${la}/${personId} postcode === '' || POSTCODE.test(postcod`,
      );
      check(service.length > 0, `row ${la}/${personId} service`);
      check(isDate(start) && start <= AS_OF, `row ${la}/${personId} isDate(start) && start <= AS_OF`);
      check(
        end === '' || (isDate(end) && end >= start && end <= AS_OF),
        `row ${la}/${personId} end === '' || (isDate(end) && end >= sta`,
      );
      const key = `${la}/${personId}/${start}`;
      check(!keys.has(key), `row ${key} repeated`);
      keys.add(key);
    }
    expect(problems.list).toEqual([]);
    expect(blank / body.length).toBeGreaterThan(0.3);
    expect(blank / body.length).toBeLessThan(0.5);
    expect(inGp).toBeGreaterThan(0.5 * body.length);
  });

  it('writes the truth file with one line per secondary row', async () => {
    const rows = csv(await readFile(join(dir, 'linkage_truth.csv'), 'utf8'));
    expect(rows[0].join(',')).toBe(TRUTH_HEADER);
    expect(rows.length - 1).toBe(manifest.counts.hesRows + manifest.counts.socialCareRows);
  });

  it('practiceLines streams the same lines as the file', async () => {
    const pop = new Population({
      practices: 4,
      patients: 20_000,
      seed: 11,
      eventsPerPatient: 2,
      asOf: AS_OF,
    });
    const fromFile = lines(await readFile(join(dir, 'A81002.ndjson'), 'utf8'));
    expect([...practiceLines(pop, pop.practices[1])]).toEqual(fromFile);
  });
});

describe('determinism', () => {
  it('the same seed gives byte-identical files; another seed does not', async () => {
    const opts = { practices: 3, patients: 1500, seed: 99, asOf: AS_OF };
    const [a, b, c] = [await tempDir(), await tempDir(), await tempDir()];
    const ma = await generate({ ...opts, outDir: a });
    await generate({ ...opts, outDir: b });
    const mc = await generate({ ...opts, seed: 100, outDir: c });
    const names = (await readdir(a)).sort();
    expect(names).toEqual((await readdir(b)).sort());
    for (const name of names)
      expect((await readFile(join(a, name))).equals(await readFile(join(b, name)))).toBe(true);
    expect(mc.files.map((f) => f.sha256)).not.toEqual(ma.files.map((f) => f.sha256));
  });

  it('property: for any seed every line of a small export parses and every NHS number is valid', () => {
    fc.assert(
      fc.property(fc.nat(), fc.integer({ min: 1, max: 40 }), (seed, patients) => {
        const pop = new Population({ practices: 2, patients, seed, eventsPerPatient: 3, asOf: AS_OF });
        for (const practice of pop.practices)
          for (const line of practiceLines(pop, practice)) {
            const r = JSON.parse(line);
            if (r.resourceType === 'Patient') expect(isValidNhsNumber(r.identifier[0].value)).toBe(true);
          }
      }),
      { numRuns: 50 },
    );
  });
});

describe('error model (docs/SYNTHETIC_DATA.md)', () => {
  const opts = { practices: 3, patients: 1500, seed: 99, asOf: AS_OF };

  it('the defaults write exactly the files generator 1.0.0 wrote', async () => {
    const m = await generate({ ...opts, outDir: await tempDir() });
    expect(m.errors).toEqual(DEFAULT_ERROR_MODEL);
    // SHA-256 of generator 1.0.0's files for these options (before the error model was tunable).
    expect(Object.fromEntries(m.files.map((f) => [f.name, f.sha256.slice(0, 16)]))).toEqual({
      'A81001.ndjson': '03fed959e7512bbc',
      'A81002.ndjson': '3b7879fe2c865b4f',
      'A81003.ndjson': '17b48ffeaa64c69a',
      'hes.csv': '124087812104199f',
      'social_care.csv': '5ea18d6d80e0d905',
      'linkage_truth.csv': '25b1a1fe8466affe',
    });
  });

  it('is tunable: harsher rates show in the files and the truth, and twins share birth and home', async () => {
    const errors = { hesMissingNhsNumber: 0.5, socialCareMoved: 0.5, twins: 0.2 };
    const dir = await tempDir();
    const m = await generate({ ...opts, errors, outDir: dir });
    expect(m.errors).toEqual({ ...DEFAULT_ERROR_MODEL, ...errors });
    const hes = csv(await readFile(join(dir, 'hes.csv'), 'utf8')).slice(1);
    const blank = hes.filter((r) => r[1] === '').length / hes.length;
    expect(blank).toBeGreaterThan(0.42);
    expect(blank).toBeLessThan(0.58);
    const pop = new Population({ ...opts, errors });
    let twins = 0;
    for (const pr of pop.practices)
      for (let i = pr.firstPatient + 1; i < pr.firstPatient + pr.patients; i++) {
        const [a, b] = [pop.person(i - 1, pr), pop.person(i, pr)];
        if (a.birthDay === b.birthDay && a.postcode === b.postcode) twins++;
      }
    expect(twins / 1500).toBeGreaterThan(0.1);
    expect(twins / 1500).toBeLessThan(0.25);
    const plain = new Population(opts);
    let plainTwins = 0;
    for (const pr of plain.practices)
      for (let i = pr.firstPatient + 1; i < pr.firstPatient + pr.patients; i++)
        if (plain.person(i - 1, pr).birthDay === plain.person(i, pr).birthDay) plainTwins++;
    expect(plainTwins).toBeLessThan(5);
  });

  it('social-care clients vary between rows when asked: the NHS number blank on some rows, a move during care', async () => {
    const errors = {
      socialCareMissingNhsNumber: 0,
      socialCareRowMissingNhsNumber: 0.5,
      socialCareMoved: 1,
      socialCareMovedMidway: 1,
    };
    const dir = await tempDir();
    await generate({ ...opts, errors, outDir: dir });
    const rows = csv(await readFile(join(dir, 'social_care.csv'), 'utf8')).slice(1);
    const blank = rows.filter((r) => r[2] === '').length / rows.length;
    expect(blank).toBeGreaterThan(0.4);
    expect(blank).toBeLessThan(0.6);
    // Clients (LA_CODE + PERSON_ID) with a row carrying the number and a row without; with two postcodes.
    const clients = new Map<string, string[][]>();
    for (const r of rows) clients.set(`${r[0]}/${r[1]}`, [...(clients.get(`${r[0]}/${r[1]}`) ?? []), r]);
    const many = [...clients.values()].filter((c) => c.length > 1);
    expect(many.filter((c) => c.some((r) => r[2]) && c.some((r) => !r[2])).length).toBeGreaterThan(3);
    expect(many.filter((c) => new Set(c.map((r) => r[5])).size > 1).length).toBeGreaterThan(3);
    // The first rows of a client that moved during care are at the GP address: the truth says so.
    const truth = csv(await readFile(join(dir, 'linkage_truth.csv'), 'utf8')).filter(
      (t) => t[0] === 'social_care',
    );
    expect(truth.filter((t) => !t[4].includes('moved')).length).toBeGreaterThan(3);
  });

  it('refuses unknown keys and shares outside 0 … 1', () => {
    expect(parseErrorModel('twins=0.02, hesMoved=0.2')).toEqual({ twins: 0.02, hesMoved: 0.2 });
    expect(parseErrorModel('')).toEqual({});
    expect(() => parseErrorModel('twin=0.1')).toThrow(/unknown/);
    expect(() => parseErrorModel('hesMoved=2')).toThrow(/share/);
    expect(() => parseErrorModel('hesMoved=x')).toThrow(/share/);
    expect(() => errorModel({ hesOutsiders: 1 })).toThrow(/below 1/);
  });
});

describe('options', () => {
  it('refuses bad ODS codes, a future date and nonsense sizes', () => {
    expect(() => new Population({ practices: 1, patients: 1, odsCodes: ['X1'] })).toThrow(/ODS/);
    expect(() => new Population({ practices: 2, patients: 1, odsCodes: ['A81001', 'A81001'] })).toThrow(
      /distinct/,
    );
    expect(() => new Population({ practices: 1, patients: 1, asOf: '2999-01-01' })).toThrow(/future/);
    expect(() => new Population({ practices: 0, patients: 1 })).toThrow(RangeError);
    expect(() => new Population({ practices: 1, patients: -1 })).toThrow(RangeError);
    expect(() => new Population({ practices: 1, patients: 1, seed: 2 ** 32 })).toThrow(/seed/);
    expect(() => new Population({ practices: 1, patients: 1, seed: 1.5 })).toThrow(/seed/);
  });

  it('uses the ODS codes it is given', () => {
    const pop = new Population({ practices: 2, patients: 10, odsCodes: ['B82001', 'Y12345'] });
    expect(pop.practices.map((p) => p.ods)).toEqual(['B82001', 'Y12345']);
  });
});
