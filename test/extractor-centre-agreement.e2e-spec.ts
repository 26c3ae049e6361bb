import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runExtractor } from '@custodian/practices';
import { parseExtractLine } from '../libs/practices/src/fhir';
import { NHS, nhsNumber, READ, SCT } from './support/fhir';

const dir = mkdtempSync(path.join(tmpdir(), 'review17f-'));
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- random resources of every shape
type J = Record<string, any>;
function centre(lines: string[]) {
  const today = new Date().toISOString().slice(0, 10);
  const received = new Date(Date.now() + 60_000).toISOString().slice(0, 19) + 'Z';
  const xp = new Map<string, string>();
  const rows: { id?: string; nhs?: string; beside?: string[]; type: string; action: string; at: string }[] =
    [];
  lines.forEach((text) => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- every outcome's fields read
    const o: any = parseExtractLine(text, 'A81001', today, {}, received);
    if (o.kind === 'patient') xp.set(o.id, o.nhsNumber);
    if (o.kind === 'unresolved') throw new Error('unresolved ' + o.reason);
    if (o.kind === 'objection')
      for (const e of o.entries) {
        const ids = o.subjects.ids;
        const nhs = e.action === 'register' || !ids.length ? o.subjects.nhsNumbers : [];
        // a withdrawal's NHS numbers beside its reference must be the reference's (intake/subjects.ts)
        const beside = e.action === 'withdraw' ? o.subjects.nhsNumbers : [];
        for (const id of ids) rows.push({ id, beside, type: e.type, action: e.action, at: o.instant });
        for (const n of nhs) rows.push({ nhs: n, type: e.type, action: e.action, at: o.instant });
      }
  });
  const latest = new Map<string, { action: string; at: string }>();
  for (const r of rows) {
    const n = r.nhs ?? xp.get(r.id!);
    if (!n || r.beside?.some((b) => b !== n)) continue;
    const k = `${n}|${r.type}`;
    const p = latest.get(k);
    if (!p || r.at > p.at || (r.at === p.at && r.action === 'register')) latest.set(k, r);
  }
  const active = new Set<string>();
  for (const [k, v] of latest) if (v.action === 'register') active.add(k);
  return active;
}
/**
 * Property (review-17's fuzz, kept): over random exports of three patients (a duplicate record
 * sometimes) and one to four objection entries of every kind — Type 1 and 2, registrations,
 * withdrawals and both in one entry, by reference, NHS number, both, or two numbers, dated to the
 * second, by a day, without an offset, by a period, or not at all, on Observations, Conditions and
 * Procedures, with or without an entered-in-error status — the centre reading the extractor's output
 * comes to the objections it comes to reading the export itself (none lost: an objector's own Type 2
 * aside, which the Type 1 marker covers), and reading the extractor's output run through the
 * extractor again changes nothing. Seed: PROPS_SEED, else the clock (printed on failure).
 */
const SEED = Number(process.env.PROPS_SEED ?? Date.now() % 2_147_483_647);
let seed = SEED;
const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff), seed / 0x7fffffff);
const pick = <T>(a: T[]) => a[Math.floor(rnd() * a.length)];
it('the centre reads the extractor’s output as it reads the export (objections), and a second run changes nothing', async () => {
  const found: string[] = [];
  for (let iter = 0; iter < 400; iter++) {
    const nhs = [nhsNumber(918_001), nhsNumber(918_002), nhsNumber(918_003)];
    const res: J[] = [];
    const pats = ['a', 'b', 'c'];
    pats.forEach((p, i) =>
      res.push({
        resourceType: 'Patient',
        id: p,
        identifier: [{ system: NHS, value: nhs[i] }],
        birthDate: '1970-01-02',
        gender: 'male',
      }),
    );
    if (rnd() < 0.3)
      res.push({
        resourceType: 'Patient',
        id: 'd',
        identifier: [{ system: NHS, value: nhs[0] }],
        birthDate: '1970-01-02',
        gender: 'male',
      });
    const k = 1 + Math.floor(rnd() * 4);
    for (let j = 0; j < k; j++) {
      const codes = [
        ...new Set([
          pick(['9Nu0', '9Nu1', '9Nu4', '9Nu5', '827241000000103']),
          ...(rnd() < 0.3 ? [pick(['9Nu0', '9Nu1', '9Nu4', '9Nu5'])] : []),
        ]),
      ];
      const subjKind = pick(['ref', 'nhs', 'refnhs', 'twonhs', 'refd']);
      const si = Math.floor(rnd() * 3),
        sj = (si + 1) % 3;
      const subject: J =
        subjKind === 'ref'
          ? { reference: `Patient/${pats[si]}` }
          : subjKind === 'refd'
            ? { reference: `Patient/d` }
            : subjKind === 'nhs'
              ? { identifier: { system: NHS, value: nhs[si] } }
              : subjKind === 'refnhs'
                ? { reference: `Patient/${pats[si]}`, identifier: { system: NHS, value: nhs[sj] } }
                : {
                    identifier: [
                      { system: NHS, value: nhs[si] },
                      { system: NHS, value: nhs[sj] },
                    ],
                  };
      const day = pick(['2020-05-03', '2020-05-04', '2020-01-10']);
      const date = pick([
        { effectiveDateTime: `${day}T10:00:00Z` },
        { effectiveDateTime: day },
        { effectiveDateTime: `${day}T00:30:00` },
        { effectivePeriod: { start: `${day}T10:00:00Z` } },
        {},
        { effectiveDateTime: `${day}T10:00:00Z`, effectivePeriod: { start: day } },
      ]);
      const type = pick(['Observation', 'Observation', 'Condition', 'Procedure']);
      const dateOut: J = {};
      const map: J = {
        Observation: ['effectiveDateTime', 'effectivePeriod'],
        Condition: ['onsetDateTime', 'onsetPeriod'],
        Procedure: ['performedDateTime', 'performedPeriod'],
      };
      for (const [f, v] of Object.entries(date))
        dateOut[f === 'effectiveDateTime' ? map[type][0] : map[type][1]] = v;
      res.push({
        resourceType: type,
        id: `o${j}`,
        ...(type !== 'Condition'
          ? { status: pick(['final', 'completed', 'entered-in-error', undefined]) }
          : {}),
        subject,
        code: { coding: codes.map((c) => ({ system: /^\d+$/.test(c) ? SCT : READ, code: c })) },
        ...dateOut,
      });
    }
    const input = path.join(dir, `in-${iter}.ndjson`);
    const output = path.join(dir, `out-${iter}.ndjson`);
    const text = res.map((r) => JSON.stringify(r)).join('\n') + '\n';
    writeFileSync(input, text);
    try {
      await runExtractor({ practiceOds: 'A81001', input, output });
    } catch {
      continue;
    }
    const out = readFileSync(output, 'utf8')
      .split('\n')
      .filter((l) => l.trim());
    let raw: Set<string>;
    try {
      raw = centre(text.trim().split('\n'));
    } catch {
      continue;
    }
    let ext: Set<string>;
    try {
      ext = centre(out);
    } catch (e) {
      found.push(`EXT-REFUSED ${iter} ${e}`);
      continue;
    }
    const lost = [...raw]
      .filter(
        (x) =>
          !ext.has(x) &&
          !ext.has(x.split('|')[0] + '|type1') &&
          !out.some(
            (l) => l.includes('"Patient"') && l.includes(x.split('|')[0]) && !l.includes('birthDate'),
          ),
      )
      .map((x) => x.replace(/^\d+/, (n) => 'abc'[nhs.indexOf(n)]));
    const output2 = path.join(dir, `out2-${iter}.ndjson`);
    try {
      await runExtractor({ practiceOds: 'A81001', input: output, output: output2 });
      const out2 = readFileSync(output2, 'utf8')
        .split('\n')
        .filter((l) => l.trim());
      const ext2 = centre(out2);
      const d = [...ext]
        .filter((x) => !ext2.has(x))
        .concat([...ext2].filter((x) => !ext.has(x)))
        .filter((x) => !(x.endsWith('type2') && ext.has(x.split('|')[0] + '|type1')));
      if (d.length)
        found.push(
          `IDEMP ${d.join(',')} ${iter}\n${text}--- out\n${out.join('\n')}\n--- out2\n${out2.join('\n')}`,
        );
    } catch (e) {
      found.push(`IDEMP-REFUSED ${iter} ${e}`);
    }
    if (lost.length) found.push(`${iter} lost ${lost.join(',')}\n${text}--- out\n${out.join('\n')}`);
  }
  expect(found.slice(0, 3), `PROPS_SEED=${SEED}`).toEqual([]);
}, 300_000);
