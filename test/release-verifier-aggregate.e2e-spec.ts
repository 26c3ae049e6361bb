import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Client } from 'pg';
import { getDataSourceToken } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { createTestApp, TestApp } from '@custodian/testing';
import { ReleaseEngine } from '@custodian/release';
import { VerificationFailure, verifyRelease } from '../libs/release/src/verifier/verify-release';
import type { VerifierDb } from '../libs/release/src/verifier/verifier-sql';
import {
  addEvent,
  addHes,
  addObjection,
  addPatient,
  aggregateCountMoved,
  aggregateRowDropped,
  newLoad,
  otherOrganisationRecipient,
  runRelease,
  seedPractice,
  spec,
  verifierDeps,
} from './release-helpers';

/**
 * The verifier recounts the aggregate table (SPEC §5 steps 2 and 5, STYLE 17): its own SQL over the
 * sources, held against every count shown. A count that the shape checks and the engine's own cell
 * ledger both accept — a count one rounding step off, or a Type 1 objector's hospital rows counted —
 * fails the release.
 */
const N = (i: number) => String(9_300_000_000 + i);
/** Type 1 objectors (no GP record): one with an unlinked HES row, one whose row is linked to someone else. */
const UNLINKED = N(900_001);
const MISLINKED = N(900_002);

describe('release verifier: the aggregate table recounted', () => {
  let t: TestApp;
  let officer: { id: string; roles: string[] };
  let db: DataSource;
  let deps: ReturnType<typeof verifierDeps>;
  let id: string;
  const scratch: string[] = [];

  beforeAll(async () => {
    // A small table (the minimum population is not the subject here).
    t = await createTestApp({ AGG_MIN_POPULATION: '10', AGG_MIN_POPULATION_MARGIN: '0' });
    const o = await t.as('release_officer');
    officer = { id: o.user.id, roles: o.user.roles };
    db = t.app.get<DataSource>(getDataSourceToken());
    deps = verifierDeps(t);
    // By year: 2012, 20 persons with a GP event; 2013, 12 with a linked HES episode and the first
    // objector's unlinked one (13: shown 15, where 12 shows 10); 2014, 12 with a linked episode and
    // the second objector's, linked to a patient with no other row that year (13 again).
    await seedPractice(t.sql);
    const hes = await newLoad(t.sql, 'hes');
    const ids: string[] = [];
    for (let i = 0; i < 48; i++) ids.push(await addPatient(t.sql, { nhs: N(i) }));
    for (const p of ids.slice(0, 20)) await addEvent(t.sql, p, '22298006', '2012-03-04');
    // 2011: 3 persons, under the minimum (10 here): a value the engine leaves out of the table.
    for (const p of ids.slice(45, 48)) await addEvent(t.sql, p, '22298006', '2011-03-04');
    for (const p of ids.slice(20, 32))
      await addHes(t.sql, hes, { nhs: null, patientId: p, date: '2013-06-01' });
    for (const p of ids.slice(32, 44))
      await addHes(t.sql, hes, { nhs: null, patientId: p, date: '2014-06-01' });
    await addHes(t.sql, hes, { nhs: UNLINKED, date: '2013-07-01' });
    await addHes(t.sql, hes, { nhs: MISLINKED, patientId: ids[44], date: '2014-07-01' });

    const researcher = await otherOrganisationRecipient(t);
    const rel = await runRelease(
      t,
      spec({
        tier: 'aggregate',
        legalBasis: 'none',
        datasets: [
          { dataset: 'gp', fields: ['code'] },
          { dataset: 'hes', fields: ['diagnosis_icd10'] },
        ],
        aggregation: { dimensions: ['year'] },
        recipients: [researcher.id],
        requestedBy: officer.id,
      }),
      officer,
    );
    expect(rel).toMatchObject({ state: 'completed', failure_reason: null });
    id = rel.id;
  });
  afterAll(async () => {
    for (const d of scratch) rmSync(d, { recursive: true, force: true });
    await t?.close();
  });

  const dirOf = (releaseId: string) => t.app.get(ReleaseEngine).dirOf(releaseId);
  const tableOf = (dir: string) =>
    gunzipSync(readFileSync(path.join(dir, 'aggregate.csv.gz'))).toString('utf8');

  async function verdict(dir: string, target: Parameters<typeof verifyRelease>[1]) {
    return verifyRelease(dir, target, db, deps).then(
      (report) => ({ report, failure: undefined }),
      (e: unknown) => {
        if (!(e instanceof VerificationFailure)) throw e;
        return { report: undefined, failure: e };
      },
    );
  }

  it('accepts the table as the engine wrote it, and says that it recounted it', async () => {
    expect(tableOf(dirOf(id))).toBe('year,patients\n2012,20\n2013,15\n2014,15\n');
    const { report, failure } = await verdict(dirOf(id), { id });
    expect(failure).toBeUndefined();
    expect(report!.checks.join('\n')).toMatch(
      /^aggregate recount: every count shown is the verifier's own count/m,
    );
    const manifest = JSON.parse(readFileSync(path.join(dirOf(id), 'manifest.json'), 'utf8'));
    expect(manifest.verification.checks.join('\n')).toMatch(/^aggregate recount: /m);
  });

  it("rejects a count one rounding step off, though the file's size, hash and the engine's cell ledger agree with it", async () => {
    // 2012 shown as 25 for 20, in the file (its size and hash in the producer's list) and in the
    // cell ledger: the integrity checks and the differencing rule's "the ledger describes the file"
    // pass; only the recount can tell.
    const moved = await aggregateCountMoved(t, id, 1, 5);
    scratch.push(moved.dir);
    try {
      expect(tableOf(moved.dir)).toBe('year,patients\n2012,25\n2013,15\n2014,15\n');
      const { failure } = await verdict(moved.dir, { id, files: moved.files });
      expect(failure?.check).toBe('aggregate');
      expect(failure?.message).toBe(
        "aggregate: aggregate.csv.gz: row 1: a cell's count differs from the verifier's recount",
      );
    } finally {
      await moved.undo();
    }
    // Moved by nothing, the same construction passes every check.
    const same = await aggregateCountMoved(t, id, 1, 0);
    scratch.push(same.dir);
    expect((await verdict(same.dir, { id, files: same.files })).failure).toBeUndefined();
  });

  it('accepts a value left out with fewer persons than the minimum (2011, 3 persons), and rejects a table that leaves out a value with more (2012, 20)', async () => {
    // The engine left 2011 out (the first test: the table has no 2011 row), and the verifier passed.
    const dropped = await aggregateRowDropped(t, id, 1);
    scratch.push(dropped.dir);
    try {
      expect(tableOf(dropped.dir)).toBe('year,patients\n2013,15\n2014,15\n');
      const { failure } = await verdict(dropped.dir, { id, files: dropped.files });
      expect(failure?.check).toBe('aggregate');
      expect(failure?.message).toBe(
        'aggregate: aggregate.csv.gz: values left out of the table (of year) each have at least their thresholds of persons behind them, counting the values kept and each other',
      );
    } finally {
      await dropped.undo();
    }
    expect((await verdict(dirOf(id), { id })).failure).toBeUndefined();
  });

  it.each([
    ['unlinked', UNLINKED],
    ['linked to another patient', MISLINKED],
  ])(
    "rejects a table that counts a Type 1 objector's HES row (%s), objecting as of the snapshot",
    async (_, nhs) => {
      // The table counted the objector's row (13: shown 15). Had their Type 1 objection been in the
      // register at the snapshot, the row would be counted nowhere (12: shown 10): an objection
      // recorded just before the snapshot's instant stands for an engine that counted it anyway.
      const { rows } = await t.sql.query(
        `SELECT snapshot_at - interval '1 second' AS at FROM releases WHERE id = $1`,
        [id],
      );
      await addObjection(t.sql, nhs, 'type1', 'register', { recordedAt: rows[0].at.toISOString() });
      try {
        const { failure } = await verdict(dirOf(id), { id });
        expect(failure?.message).toMatch(
          /^aggregate: aggregate.csv.gz: row \d: a cell's count differs from the verifier's recount$/,
        );
        // Read in a snapshot taken before the objection (as the engine's own is), the table is right.
        const holder = new Client({ connectionString: t.db.url });
        await holder.connect();
        try {
          await t.sql.query(`DELETE FROM objection_events WHERE nhs_number = $1`, [nhs]);
          await holder.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
          await holder.query('SELECT 1'); // the snapshot is taken here
          await addObjection(t.sql, nhs, 'type1', 'register', { recordedAt: rows[0].at.toISOString() });
          const inSnapshot = <T>(read: (data: VerifierDb) => Promise<T>) =>
            read({ query: async (sql, params) => (await holder.query(sql, params)).rows });
          expect((await verdict(dirOf(id), { id, inSnapshot })).failure).toBeUndefined();
          expect((await verdict(dirOf(id), { id })).failure?.check).toBe('aggregate');
        } finally {
          await holder.query('ROLLBACK');
          await holder.end();
        }
      } finally {
        await t.sql.query(`DELETE FROM objection_events WHERE nhs_number = $1`, [nhs]);
      }
    },
  );
});
