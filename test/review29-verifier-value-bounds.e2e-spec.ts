import { getDataSourceToken } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { createTestApp, TestApp } from '@custodian/testing';
import { ReleaseEngine } from '@custodian/release';
import { VerificationFailure, verifyRelease } from '../libs/release/src/verifier/verify-release';
import {
  addEvent,
  addPatient,
  download,
  otherOrganisationRecipient,
  parseCsvGz,
  runRelease,
  seedPractice,
  spec,
  verifierDeps,
} from './release-helpers';

/**
 * Review 29 of 5a45f20: what the verifier lets through around values left out.
 *
 * The engine here runs with AGG_MIN_POPULATION 50 (no margin) over `code` × `year`:
 *   - A: 250 persons, events in 2012 and 2013;
 *   - Q: 60 persons, events in 2012 and 2013;
 *   - Z: 40 persons, their only events in 2001 (nobody else has a 2001 event).
 * Its table: {A, Q} × {2012, 2013}; Z and 2001 left out together (40 each, under 50).
 *
 * The verifier is then asked about that table as if the engine had been configured otherwise —
 * i.e. as the check of an engine that got its thresholds wrong (the verifier's whole purpose):
 *
 * 1. With AGG_MIN_POPULATION 10: Z and 2001 (40 persons each, each the other's only support) must
 *    be in the table. The verifier recounts each value left out "counting only events whose other
 *    values the table kept": Z over {2012, 2013} is 0, 2001 over {A, Q} is 0 — both accepted. A
 *    pair (or any closed group) of values that support only each other can be dropped whatever
 *    its size: 40 here, 40,000 as well.
 * 2. With AGG_MIN_POPULATION 100 (and its margin 14): Q, 60 persons, is a kept value under the
 *    minimum. The verifier checks kept values only through the cells' upper bounds (62 + 62 = 124
 *    for Q's two cells, a person counted once per year), never by recounting the value, although
 *    the new `recountLeftOut` statement counts exactly that for values left out.
 *
 * Both failed on 5a45f20 (the reviewer's run) and pass since the verifier counts every value kept
 * and runs its own leave-out from every value (verifier/aggregate-values.ts).
 */
describe('review 29: the verifier misses wrong tables around values left out', () => {
  let t: TestApp;
  let db: DataSource;
  let id: string;
  let deps: ReturnType<typeof verifierDeps>;

  beforeAll(async () => {
    t = await createTestApp({ AGG_MIN_POPULATION: '50', AGG_MIN_POPULATION_MARGIN: '0' });
    const o = await t.as('release_officer');
    db = t.app.get<DataSource>(getDataSourceToken());
    deps = verifierDeps(t);
    await seedPractice(t.sql);
    let n = 0;
    const person = () => addPatient(t.sql, { nhs: String(9_529_300_000 + n++) });
    for (let i = 0; i < 250; i++) {
      const p = await person();
      await addEvent(t.sql, p, '22298006', '2012-03-04');
      await addEvent(t.sql, p, '22298006', '2013-03-04');
    }
    for (let i = 0; i < 60; i++) {
      const p = await person();
      await addEvent(t.sql, p, '44054006', '2012-05-05');
      await addEvent(t.sql, p, '44054006', '2013-05-05');
    }
    for (let i = 0; i < 40; i++) await addEvent(t.sql, await person(), '195967001', '2001-07-07');
    const r = await otherOrganisationRecipient(t);
    const rel = await runRelease(
      t,
      spec({
        tier: 'aggregate',
        legalBasis: 'none',
        datasets: [{ dataset: 'gp', fields: ['code'] }],
        aggregation: { dimensions: ['code', 'year'] },
        recipients: [r.id],
        requestedBy: o.user.id,
      }),
      { id: o.user.id, roles: o.user.roles },
    );
    expect(rel).toMatchObject({ state: 'completed', failure_reason: null });
    id = rel.id;
    const table = parseCsvGz((await download(t, r.auth, id, 'aggregate.csv.gz')).body).rows;
    expect(table).toEqual([
      { code: '22298006', year: '2012', patients: '250' },
      { code: '22298006', year: '2013', patients: '250' },
      { code: '44054006', year: '2012', patients: '60' },
      { code: '44054006', year: '2013', patients: '60' },
    ]);
  });
  afterAll(() => t?.close());

  const verdict = (over: { aggMinPopulation: number; aggMinPopulationMargin: number }) =>
    verifyRelease(t.app.get(ReleaseEngine).dirOf(id), { id }, db, { ...deps, ...over }).then(
      () => undefined,
      (e: unknown) => {
        if (!(e instanceof VerificationFailure)) throw e;
        return e;
      },
    );

  it('(control) accepts the table under the minimum the engine used', async () => {
    expect(await verdict({ aggMinPopulation: 50, aggMinPopulationMargin: 0 })).toBeUndefined();
  });

  it('refuses a table that leaves out two values of 40 persons each that support only each other, under a minimum of 10', async () => {
    const failure = await verdict({ aggMinPopulation: 10, aggMinPopulationMargin: 0 });
    expect(failure?.check).toBe('aggregate');
  });

  it('refuses a table that keeps a value of 60 persons (Q, two years), under a minimum of 100', async () => {
    const failure = await verdict({ aggMinPopulation: 100, aggMinPopulationMargin: 14 });
    expect(failure?.check).toBe('aggregate');
  });
});
