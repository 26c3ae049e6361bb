import fc from 'fast-check';
import { createTestApp, TestApp } from '@custodian/testing';
import { condition, invalidNhsNumber, nhsNumber, observation, patient } from './support/fhir';
import { counts, practiceReady, upload } from './support/practice';

/**
 * Property: whatever junk is mixed into an extract, the answer is never a 500, every junk line is
 * rejected, and exactly the well-formed resources are stored — never a partial one.
 */
describe('extract intake with random junk lines (property)', () => {
  let t: TestApp;
  let a: { Authorization: string };
  beforeAll(async () => {
    t = await createTestApp();
    const admin = (await t.as('admin')).auth;
    a = await practiceReady(t, admin, 'A81001');
  });
  afterAll(() => t?.close());

  let run = 0;
  const junk = fc.oneof(
    // arbitrary text, JSON values that are not resources, resources with fields of the wrong kind
    fc.string({ minLength: 1, maxLength: 80 }).filter((s) => s.trim() !== '' && !/[\r\n]/.test(s)),
    fc
      .jsonValue()
      .map((v) => JSON.stringify(v))
      .filter((s) => !/[\r\n]/.test(s) && s.trim() !== ''),
    fc
      .record({
        field: fc.constantFrom('birthDate', 'gender', 'identifier', 'id', 'address'),
        value: fc.anything(),
      })
      .map(({ field, value }) => ({ kind: 'patient-field' as const, field, value })),
    fc
      .record({ field: fc.constantFrom('code', 'subject', 'onsetDateTime', 'id'), value: fc.anything() })
      .map(({ field, value }) => ({ kind: 'condition-field' as const, field, value })),
    fc.nat(1000).map((cut) => ({ kind: 'truncated' as const, cut })),
    fc.constant({ kind: 'bad-nhs' as const }),
  );

  it('never answers 500 and never stores a partial resource', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(junk, { minLength: 1, maxLength: 12 }),
        fc.nat(3),
        async (junkLines, good) => {
          run++;
          const lines: string[] = [];
          const goodIds: string[] = [];
          for (let i = 0; i < good; i++) {
            const id = `g${run}-${i}`;
            goodIds.push(id);
            lines.push(JSON.stringify(patient(id, nhsNumber(run * 100 + i))));
            lines.push(JSON.stringify(condition(`${id}-c`, id)));
          }
          let expectedRejected = 0;
          let k = 0;
          for (const j of junkLines) {
            k++;
            const id = `j${run}-${k}`;
            let line: string;
            if (typeof j === 'string') line = j;
            else if (j.kind === 'truncated') {
              const full = JSON.stringify(observation(id, goodIds[0] ?? 'nobody'));
              line = full.slice(0, j.cut % (full.length - 1));
              if (!line.trim()) continue;
            } else if (j.kind === 'bad-nhs')
              line = JSON.stringify(patient(id, invalidNhsNumber(run * 100 + k)));
            else if (j.kind === 'patient-field') {
              const p: Record<string, unknown> = patient(id, nhsNumber(9_000_000 + run * 100 + k));
              p[j.field] = j.value;
              line = JSON.stringify(p);
            } else {
              const c: Record<string, unknown> = condition(id, 'nobody-at-all');
              c[j.field] = j.value;
              line = JSON.stringify(c);
            }
            if (line === undefined || /[\r\n]/.test(line)) continue;
            lines.push(line);
            expectedRejected++;
          }
          // Interleave deterministically.
          const body = lines.sort((x, y) => (x.length % 7) - (y.length % 7)).join('\n') + '\n';
          const before = await counts(t);
          const res = await upload(t, a, 'A81001', body);
          // No line a JSON object (junk only, no good resource): not an extract at all, refused whole.
          const jsonObject = (l: string) => {
            try {
              const v: unknown = JSON.parse(l);
              return typeof v === 'object' && v !== null && !Array.isArray(v);
            } catch {
              return false;
            }
          };
          if (!lines.some(jsonObject)) {
            expect(res.status).toBe(400);
            // Every junk line skipped (a truncation to nothing) leaves a body of blank lines: empty.
            expect(res.body.code).toBe(lines.length ? 'EXTRACT_NOT_NDJSON' : 'EXTRACT_EMPTY');
            expect(await counts(t)).toEqual(before);
            return;
          }
          expect(res.status).toBe(201);
          const after = await counts(t);
          // A patient-field "mutation" may happen to stay valid (gender replaced by "male", address by
          // []): such a line is stored whole. Every other junk line is rejected or, as a resource type
          // outside the specification, dropped. Nothing is stored half.
          const storedPatients = after.patients - before.patients;
          const storedEvents = after.events - before.events;
          expect(storedPatients).toBe(res.body.patients);
          expect(storedEvents).toBe(res.body.resources);
          expect(storedEvents).toBe(good);
          expect(storedPatients).toBeGreaterThanOrEqual(good);
          expect(res.body.rejected.length + res.body.dropped.resources + (storedPatients - good)).toBe(
            expectedRejected,
          );
          const { rows } = await t.sql.query(
            `SELECT count(*)::int AS n FROM patients WHERE birth_date IS NULL OR sex IS NULL OR source_id IS NULL OR length(nhs_number) <> 10`,
          );
          expect(rows[0].n).toBe(0);
        },
      ),
      { numRuns: 20 },
    );
  });
});
