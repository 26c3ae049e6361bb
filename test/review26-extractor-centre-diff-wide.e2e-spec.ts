import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { objectionsAsOf } from '@custodian/objections';
import { runExtractor } from '@custodian/practices';
import { createTestApp, TestApp } from '@custodian/testing';
import { condition, NHS, nhsNumber, patient, READ } from './support/fhir';
import { practiceReady, upload } from './support/practice';

/** A line written as given (not through JSON.stringify). */
class Raw {
  constructor(readonly text: string) {}
  toJSON() {
    return this.text;
  }
}
const text = (lines: unknown[]) =>
  lines.map((l) => (l instanceof Raw ? l.text : JSON.stringify(l))).join('\n') + '\n';
/** R26_FORMS=plain,slashes: the line forms generated (default: all). */
const FORMS = (process.env.R26_FORMS ?? 'plain,slashes,type,object').split(',');

/**
 * Probe 26, a property (SPEC §2: the centre re-checks; objections fail closed): whatever a
 * practice's export holds, the centre reading the raw export never keeps a patient, or lifts an
 * objection, that the practice-side extractor reading the same export withholds. Two practices
 * of one centre, with the same export under two disjoint sets of NHS numbers: one sends the raw
 * export, the other the extractor's output. Fails on findings 1 (one Patient id, two NHS numbers)
 * and 2 (an objection on a Patient whose line is refused) of probe 26.
 */
describe('review26: the centre reading a raw export is never weaker than the extractor (a wider generator)', () => {
  let t: TestApp;
  let rawAuth: { Authorization: string };
  let viaAuth: { Authorization: string };
  let seed = 270_000;
  beforeAll(async () => {
    t = await createTestApp();
    const admin = (await t.as('admin')).auth;
    rawAuth = await practiceReady(t, admin, 'A81001');
    viaAuth = await practiceReady(t, admin, 'B82002');
  });
  afterAll(() => t?.close());

  const state = async (ns: string[]) =>
    (
      await t.sql.query(
        // In force: as every release reads the register (one step through the numbers a record
        // gives as one person's, nhs_number_aliases), not the register's own rows.
        `WITH o AS (${objectionsAsOf('now()')})
         SELECT n AS nhs,
                EXISTS (SELECT 1 FROM gp_events e JOIN patients p ON p.id = e.patient_id WHERE p.nhs_number = n) AS held,
                EXISTS (SELECT 1 FROM o WHERE o.nhs_number = n AND o.type = 'type1') AS type1,
                EXISTS (SELECT 1 FROM o WHERE o.nhs_number = n AND o.type = 'type2') AS type2
           FROM unnest($1::text[]) n ORDER BY n`,
        [ns],
      )
    ).rows as { nhs: string; held: boolean; type1: boolean; type2: boolean }[];

  it('property: held at the raw centre ⊆ held via the extractor; objections in force via the extractor are in force at the raw centre', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'review26-diff-'));
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            id: fc.constantFrom('a', 'b', 'c'),
            n: fc.nat(2),
            // a second NHS-number identifier (another number of the pool), or none
            also: fc.option(fc.nat(2), { nil: undefined }),
            odd: fc.boolean(),
            // how the line is written: as JSON.stringify does, `/` escaped (PHP), `resourceType`
            // escaped, or (one number only) `identifier` as one object
            form: fc.constantFrom(...FORMS),
          }),
          {
            minLength: 1,
            maxLength: 4,
          },
        ),
        fc.array(
          fc.record({
            subject: fc.constantFrom('a', 'b', 'c', 'n0', 'n1'),
            code: fc.constantFrom('9Nu0', '9Nu1', '9Nu4', '9Nu5'),
            date: fc.constantFrom('2020-01-01T10:00:00Z', '2021-01-01', '2019-06', undefined),
          }),
          { maxLength: 3 },
        ),
        async (patients, objections) => {
          // P26_KNOWN_OFF=1: without the patterns of findings 1 and 2 (it then holds: 100 runs).

          // R26_KNOWN_OFF=1: without finding 7's pattern (a line of two numbers sharing one with another id's line).
          if (process.env.R26_KNOWN_OFF) {
            const nums = (x: (typeof patients)[number]) => [x.n, ...(x.also !== undefined ? [x.also] : [])];
            fc.pre(
              patients.every(
                (x) =>
                  x.also === undefined ||
                  patients.every((y) => y.id === x.id || !nums(y).some((m) => nums(x).includes(m))),
              ),
            );
          }
          run++;
          const ns = [nhsNumber(seed++), nhsNumber(seed++), nhsNumber(seed++)];
          const ms = [nhsNumber(seed++), nhsNumber(seed++), nhsNumber(seed++)];
          const p = (id: string) => `r${run}-${id}`;
          const exportOf = (numbers: string[], ods: string) => {
            const lines: unknown[] = [];
            for (const x of patients) {
              const ids = [numbers[x.n], ...(x.also !== undefined ? [numbers[x.also]] : [])].map((v) => ({
                system: NHS,
                value: v,
              }));
              const line = patient(
                p(x.id),
                numbers[x.n],
                {
                  ...(x.odd && { birthDate: '2999-01-01' }),
                  identifier: x.form === 'object' && ids.length === 1 ? ids[0] : ids,
                },
                ods,
              );
              let text = JSON.stringify(line);
              if (x.form === 'slashes') text = text.replace(/\//g, '\\/');
              if (x.form === 'type') text = text.replace('"Patient"', '"\\u0050atient"');
              lines.push(new Raw(text), condition(`${p(x.id)}-c${lines.length}`, p(x.id)));
            }
            objections.forEach((o, i) =>
              lines.push({
                resourceType: 'Observation',
                id: `${p('o')}${i}`,
                status: 'final',
                subject: o.subject.startsWith('n')
                  ? { identifier: { system: NHS, value: numbers[Number(o.subject[1])] } }
                  : { reference: `Patient/${p(o.subject)}` },
                code: { coding: [{ system: READ, code: o.code }] },
                ...(o.date && { effectiveDateTime: o.date }),
              }),
            );
            return lines;
          };
          const lines = exportOf(ns, 'A81001');
          const input = path.join(dir, `in-${run}.ndjson`);
          const output = path.join(dir, `out-${run}.ndjson`);
          writeFileSync(input, text(exportOf(ms, 'B82002')));
          const r1 = await upload(t, rawAuth, 'A81001', text(lines));
          try {
            await runExtractor({ practiceOds: 'B82002', input, output });
          } catch {
            return; // the extractor refused the export: nothing leaves the practice
          }
          const r2 = await upload(t, viaAuth, 'B82002', readFileSync(output, 'utf8'));
          if (r1.status !== 201 || r2.status !== 201) return;
          const [a, b] = [await state(ns), await state(ms)];
          for (let i = 0; i < ns.length; i++) {
            const ctx = { lines, raw: a[i], viaExtractor: b[i] };
            expect(ctx).toEqual({
              lines,
              raw: {
                ...a[i],
                held: a[i].held && b[i].held,
                type1: a[i].type1 || b[i].type1,
                type2: a[i].type2 || b[i].type2,
              },
              viaExtractor: b[i],
            });
          }
        },
      ),
      {
        numRuns: Number(process.env.P26_RUNS ?? 60),
        // Found at 300 runs once the two-step pattern was no longer left out: a withdrawal on a record
        // [n2, n0] that shares n0 with [n1, n0] was applied here and kept by the extractor.
        examples: [
          [
            [
              { id: 'b', n: 1, also: 0, odd: false, form: 'plain' },
              { id: 'a', n: 2, also: 0, odd: false, form: 'plain' },
            ],
            [
              { subject: 'a', code: '9Nu5', date: '2020-01-01T10:00:00Z' },
              { subject: 'a', code: '9Nu4', date: '2019-06' },
            ],
          ],
        ],
      },
    );
  }, 300_000);
});
