import { createTestApp, TestApp } from '@custodian/testing';
import { condition, NHS, ndjson, nhsNumber, patient, READ } from './support/fhir';
import { nextSecond, practiceReady, upload } from './support/practice';
import { extractorRun } from './support/extractor-run';

/**
 * Review 17: the extractor writes objection entries from its own reading (objection-canonical.ts)
 * and, for a line naming a Type 1 objector, objectorMarkerEntry decides what of the line leaves.
 * Compared here: the centre's objection_register after the practice's raw export (the centre's own
 * reading of what the practice read) against the register after the extractor's output of the
 * same export (other patients, same shape). Every case is one where the PRACTICE's own reading
 * holds the objection in force; the extract must carry it.
 */
const extract = extractorRun('review17-');

const obs = (id: string, subject: Record<string, unknown>, codes: string[], date: string) => ({
  resourceType: 'Observation',
  id,
  status: 'final',
  subject,
  code: { coding: codes.map((code) => ({ system: READ, code })) },
  effectiveDateTime: date,
});
const byNhs = (...ns: string[]) => ({ identifier: ns.map((value) => ({ system: NHS, value })) });

describe('review-17: the centre, given the extractor output, decides objections as the practice did', () => {
  let t: TestApp;
  let a: { Authorization: string };
  beforeAll(async () => {
    t = await createTestApp();
    a = await practiceReady(t, (await t.as('admin')).auth, 'A81001');
  });
  afterAll(() => t?.close());

  const active = async (n: string, type: 'type1' | 'type2') =>
    ((
      await t.sql.query(`SELECT active FROM objection_register WHERE nhs_number = $1 AND type = $2`, [
        n,
        type,
      ])
    ).rows[0]?.active as boolean | undefined) ?? false;
  const held = async (n: string) =>
    Number(
      (
        await t.sql.query(
          `SELECT count(*)::int AS c FROM gp_events e JOIN patients q ON q.id = e.patient_id WHERE q.nhs_number = $1`,
          [n],
        )
      ).rows[0].c,
    );

  // E1. A Type 2 objection naming two patients (subject.identifier as a list: both readers take
  // every NHS number of it), one of whom (x) is a Type 1 objector. The practice reads a Type 2
  // objection for y. objectorMarkerEntry sees an objector among the line's subjects, finds no Type 1
  // meaning in it and drops the WHOLE line (type1Resources++): y's Type 2 objection never reaches
  // the centre, y's record is stored there, and releases of record-level data include y.
  it('E1: a Type 2 objection naming a Type 1 objector and another patient reaches the centre for the other', async () => {
    const build = (x: string, y: string, p: string) => [
      patient(`${p}x`, x),
      patient(`${p}y`, y),
      condition(`${p}y-c`, `${p}y`),
      obs(`${p}-t1`, { reference: `Patient/${p}x` }, ['9Nu0'], '2020-01-01T10:00:00Z'),
      obs(`${p}-t2`, byNhs(x, y), ['9Nu4'], '2020-02-01T10:00:00Z'),
    ];
    // Control: the raw export at the centre.
    const [rx, ry] = [nhsNumber(917_001), nhsNumber(917_002)];
    expect((await upload(t, a, 'A81001', ndjson(build(rx, ry, 'ra')))).status).toBe(201);
    expect(await active(ry, 'type2')).toBe(true);
    // The extractor's output of the same export.
    const [x, y] = [nhsNumber(917_003), nhsNumber(917_004)];
    const { lines } = await extract(build(x, y, 'ea'));
    // the practice keeps y (no Type 1) and its Condition leaves
    expect(lines.some((l) => l.id === 'eay-c')).toBe(true);
    expect((await upload(t, a, 'A81001', ndjson(lines))).status).toBe(201);
    expect(await active(x, 'type1')).toBe(true);
    expect(await active(y, 'type2')).toBe(true);
  });

  // E2. One entry registering Type 1 AND Type 2 for two patients (x by reference, y by NHS number);
  // y withdrew Type 1 later. The practice: x Type 1 and Type 2, y Type 2 (no Type 1). The entry
  // names an objector (x) and a non-objector: objectorMarkerEntry writes the entry for x's NHS
  // number alone (`nhsOnly`), every meaning — y's Type 2 objection is lost, y stored and released.
  it("E2: a Type 1 + Type 2 entry naming two patients keeps the non-objector's Type 2 objection", async () => {
    const build = (x: string, y: string, p: string) => [
      patient(`${p}x`, x),
      patient(`${p}y`, y),
      condition(`${p}y-c`, `${p}y`),
      obs(
        `${p}-both`,
        { reference: `Patient/${p}x`, identifier: { system: NHS, value: y } },
        ['9Nu0', '9Nu4'],
        '2020-01-01T10:00:00Z',
      ),
      obs(`${p}-w`, { reference: `Patient/${p}y` }, ['9Nu1'], '2021-01-01T10:00:00Z'),
    ];
    const [rx, ry] = [nhsNumber(917_011), nhsNumber(917_012)];
    expect((await upload(t, a, 'A81001', ndjson(build(rx, ry, 'rb')))).status).toBe(201);
    expect(await active(rx, 'type1')).toBe(true);
    expect(await active(ry, 'type1')).toBe(false);
    expect(await active(ry, 'type2')).toBe(true);
    const [x, y] = [nhsNumber(917_013), nhsNumber(917_014)];
    const { lines } = await extract(build(x, y, 'eb'));
    expect(lines.some((l) => l.id === 'eby-c')).toBe(true);
    expect((await upload(t, a, 'A81001', ndjson(lines))).status).toBe(201);
    expect(await active(x, 'type1')).toBe(true);
    expect(await active(y, 'type1')).toBe(false);
    expect(await active(y, 'type2')).toBe(true);
  });

  // E3. A Type 1 objection naming a patient by reference whose Patient is not in this export (the
  // centre holds them for this practice from an earlier extract: source id `h`, NHS number m) AND
  // a second person by NHS number (n). The practice reads an objection for both. Its person keys
  // are `id:h` and `nhs:n`: one NHS key, so objectorMarkerEntry writes the entry for n ALONE
  // (`nhsOnly`) — the reference is dropped. The raw line at the centre: the reference resolves to
  // m (held for this practice), Type 1 in force, m's data deleted. The extract: m's Type 1
  // objection never arrives, and what the centre holds for m stays (and is released).
  it('E3: a Type 1 objection naming a held patient by reference and another by NHS number reaches both', async () => {
    const build = (n: string, p: string) => [
      patient(`${p}n`, n),
      obs(
        `${p}-t1`,
        { reference: `Patient/${p}h`, identifier: { system: NHS, value: n } },
        ['9Nu0'],
        '2020-01-01T10:00:00Z',
      ),
    ];
    const earlier = (m: string, p: string) => [patient(`${p}h`, m), condition(`${p}h-c`, `${p}h`)];
    // Control: raw.
    const [rm, rn] = [nhsNumber(917_021), nhsNumber(917_022)];
    expect((await upload(t, a, 'A81001', ndjson(earlier(rm, 'rc')))).status).toBe(201);
    expect(await held(rm)).toBe(1);
    await nextSecond();
    expect((await upload(t, a, 'A81001', ndjson(build(rn, 'rc')))).status).toBe(201);
    expect(await active(rn, 'type1')).toBe(true);
    expect(await active(rm, 'type1')).toBe(true);
    expect(await held(rm)).toBe(0);
    // Extracted.
    const [m, n] = [nhsNumber(917_023), nhsNumber(917_024)];
    expect((await upload(t, a, 'A81001', ndjson(earlier(m, 'ec')))).status).toBe(201);
    expect(await held(m)).toBe(1);
    await nextSecond();
    const { lines } = await extract(build(n, 'ec'));
    expect((await upload(t, a, 'A81001', ndjson(lines))).status).toBe(201);
    expect(await active(n, 'type1')).toBe(true);
    expect.soft(await active(m, 'type1')).toBe(true);
    expect.soft(await held(m)).toBe(0);
  });

  // E4. A Type 1 objector's own Type 2 objection (its own line) is dropped by the extractor as "a
  // resource of a Type 1 objector" (objectorMarkerEntry: no Type 1 meaning). The raw export gives
  // the centre Type 2 in force as well; the extract gives no Type 2 at all. When the Type 1
  // objection is later withdrawn through the register (POST /api/objections), the centre has no
  // Type 2 objection for a patient the practice knows has one.
  it("E4: a Type 1 objector's Type 2 objection reaches the centre", async () => {
    const build = (x: string, p: string) => [
      patient(`${p}x`, x),
      obs(`${p}-t1`, { reference: `Patient/${p}x` }, ['9Nu0'], '2020-01-01T10:00:00Z'),
      obs(`${p}-t2`, { reference: `Patient/${p}x` }, ['9Nu4'], '2020-01-02T10:00:00Z'),
    ];
    const rx = nhsNumber(917_031);
    expect((await upload(t, a, 'A81001', ndjson(build(rx, 'rd')))).status).toBe(201);
    expect(await active(rx, 'type2')).toBe(true);
    const x = nhsNumber(917_032);
    const { lines } = await extract(build(x, 'ed'));
    expect((await upload(t, a, 'A81001', ndjson(lines))).status).toBe(201);
    expect(await active(x, 'type1')).toBe(true);
    expect(await active(x, 'type2')).toBe(true);
  });
  // E5. A Type 1 withdrawal naming a patient by reference (x) and another by NHS number (y's). The
  // practice's pass 1 (type1Objectors) counts the persons it names — two — and does NOT apply it
  // (report warning "a withdrawal naming two patients (not applied)"). readObjection's own rule counts
  // a reference and an NHS number as one subject (twoNamed: two references, or two NHS numbers
  // without one), so passOn writes it out as a plain withdrawal by the reference (canonicalObjections:
  // a withdrawal names "the one patient it applies to"), and the centre applies it: the Type 1
  // objection the practice recorded through the API for x is lifted and x's record stored. The
  // extractor, re-run on its own output, now applies the withdrawal too (not idempotent).
  it('E5: a Type 1 withdrawal the practice did not apply (naming two patients) does not lift an objection at the centre', async () => {
    const [x, y] = [nhsNumber(917_041), nhsNumber(917_042)];
    await t.http
      .post('/api/objections')
      .set(a)
      .send({ nhsNumber: x, type: 'type1', action: 'register' })
      .expect(201);
    expect(await active(x, 'type1')).toBe(true);
    await nextSecond();
    await nextSecond();
    const at = new Date(Date.now() - 500).toISOString().slice(0, 19) + 'Z';
    await nextSecond();
    const resources = [
      patient('fx', x),
      patient('fy', y),
      condition('fx-c', 'fx'),
      obs('f-w', { reference: 'Patient/fx', identifier: { system: NHS, value: y } }, ['9Nu1'], at),
    ];
    const { report, lines } = await extract(resources);
    // the practice did not apply it
    expect(report.warnings.some((w) => /two patients/.test(w.reason))).toBe(true);
    expect.soft(lines.filter((l) => l.id === 'f-w')).toEqual([]);
    expect((await upload(t, a, 'A81001', ndjson(lines))).status).toBe(201);
    expect(await active(x, 'type1')).toBe(true);
    expect(await held(x)).toBe(0);
  });
  // E6. One Patient record carrying two NHS numbers (an old one kept beside the new: p [m, n]) and
  // another record of n (q). A Type 1 objection names p. The practice's People keys p by both
  // numbers: m and n are objectors, and q (n) is removed with its Condition — the practice applies
  // the objection to n. The extract carries one marker for the person (p with its FIRST NHS number
  // only) and the objection by reference (two NHS keys: no `nhsOnly`), which the centre resolves to
  // m. n's Type 1 objection never reaches the centre, and what it holds for n (q, sent before the
  // objection) stays and is released.
  it('E6: a Type 1 objection the practice applies to both NHS numbers of a record reaches the centre for both', async () => {
    const [m, n] = [nhsNumber(917_051), nhsNumber(917_052)];
    // The centre holds q (n) from an earlier extract.
    expect((await upload(t, a, 'A81001', ndjson([patient('gq', n), condition('gq-c', 'gq')]))).status).toBe(
      201,
    );
    expect(await held(n)).toBe(1);
    await nextSecond();
    const { lines } = await extract([
      patient('gp', m, {
        identifier: [
          { system: NHS, value: m },
          { system: NHS, value: n },
        ],
      }),
      patient('gq', n),
      condition('gq-c', 'gq'),
      obs('g-t1', { reference: 'Patient/gp' }, ['9Nu0'], '2020-01-01T10:00:00Z'),
    ]);
    // the practice removed q: n is an objector there
    expect(lines.filter((l) => l.resourceType === 'Condition')).toEqual([]);
    expect((await upload(t, a, 'A81001', ndjson(lines))).status).toBe(201);
    expect(await active(m, 'type1')).toBe(true);
    expect.soft(await active(n, 'type1')).toBe(true);
    expect.soft(await held(n)).toBe(0);
  });
});
