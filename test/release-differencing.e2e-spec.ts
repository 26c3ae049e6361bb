import { randomUUID } from 'node:crypto';
import { getDataSourceToken } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '@custodian/core';
import { ReleaseEngine } from '@custodian/release';
import { ReleaseKeys } from '../libs/release/src/keys';
import { VerificationFailure, verifyRelease } from '../libs/release/src/verifier/verify-release';
import { createTestApp, TestApp } from '@custodian/testing';
import type { ReleaseSpec } from '@custodian/release';
import {
  addObjection,
  download,
  otherOrganisationRecipient,
  parseCsvGz,
  runRelease,
  seedPractice,
  spec,
} from './release-helpers';

/**
 * #27 "Releases of one bid compared with each other": two anonymised releases of one bid, before
 * and after one patient's Type 2 objection, differed by exactly that patient's 4 rows — the
 * researcher learnt which record objected. A record-level release now differs from the bid's
 * earlier releases by no persons or by at least k (ANON_K, default 10): a removal of fewer than k
 * (an objection, always honoured) is covered by withholding further persons, for good; fewer
 * than k new persons are held back until there are k. The manifest says what was done.
 */
const PERSONS = 120;
const EVENTS = 4;
const K = 10;

describe('releases of one bid compared with each other (differencing)', () => {
  let t: TestApp;
  let officer: { id: string; roles: string[] };
  let researcher: { id: string; auth: Record<string, string> };

  beforeAll(async () => {
    t = await createTestApp();
    const o = await t.as('release_officer');
    officer = { id: o.user.id, roles: o.user.roles };
    const r = await t.as('researcher');
    researcher = { id: r.user.id, auth: r.auth };
    await seedPractice(t.sql);
    await addPersons(1, PERSONS);
  });
  afterAll(() => t?.close());
  // Each test's bids belong to an organisation of their own: a release is compared with the last
  // release of every other bid of its organisation too (the last test), so tests sharing one
  // would compare with each other's.
  beforeEach(async () => {
    researcher = await otherOrganisationRecipient(t);
  });

  /** Persons `from`..`to`, each with EVENTS GP events whose codes name them (c<n>_<event>). */
  async function addPersons(from: number, to: number) {
    await t.sql.query(
      `INSERT INTO patients (nhs_number, birth_date, sex, postcode, ethnicity, practice_ods, source_id)
       SELECT (9400000000 + g)::text, DATE '1960-01-01', 'F', 'LS1 4AP', 'A', 'A81001', g::text
         FROM generate_series($1::int, $2::int) g`,
      [from, to],
    );
    await t.sql.query(
      `INSERT INTO gp_events (patient_id, practice_ods, resource_type, resource_id, code_system, code, event_date)
       SELECT p.id, p.practice_ods, 'condition', 'r' || p.source_id || '_' || e, 'snomed', 'c' || p.source_id || '_' || e, DATE '2012-01-01' + e
         FROM patients p CROSS JOIN generate_series(1, $3::int) e
        WHERE p.source_id::int BETWEEN $1 AND $2`,
      [from, to, EVENTS],
    );
  }

  const release = async (s: ReleaseSpec) => {
    const rel = await runRelease(t, { ...s }, officer);
    expect(rel.failure_reason).toBeNull();
    const gp = parseCsvGz((await download(t, researcher.auth, rel.id, 'gp.csv.gz')).body).rows;
    const manifest = JSON.parse(
      (await download(t, researcher.auth, rel.id, 'manifest.json')).body.toString(),
    );
    // The codes name their persons (c<n>_<event>) — except in the anonymised tier, where
    // kᵐ-anonymity generalises such codes (issue #27): there the persons released are read from the
    // release's ledger (staff data), and the file holds as many persons.
    const named = gp.every((r) => /^c\d+_/.test(r.code));
    let persons: Set<number>;
    if (named) persons = new Set(gp.map((r) => Number(/^c(\d+)_/.exec(r.code)![1])));
    else {
      const { rows } = await t.sql.query(
        `SELECT u.n AS nhs FROM release_ledger_members m CROSS JOIN LATERAL unnest(m.nhs) AS u(n)
          WHERE m.release_id = $1 AND m.state = 'released'`,
        [rel.id],
      );
      persons = new Set(rows.map((r: { nhs: string }) => Number(r.nhs) - 9400000000));
      expect(new Set(gp.map((r) => r.person_token)).size).toBe(persons.size);
    }
    return { id: rel.id, gp, manifest, persons };
  };
  const minus = (a: Set<number>, b: Set<number>) => [...a].filter((x) => !b.has(x));

  it.each(['anonymised', 'pseudonymised'] as const)(
    '%s: after one Type 2 objection the next release differs by at least k persons, the objector among them; the manifest says so',
    async (tier) => {
      const s = spec({
        bidId: randomUUID(),
        tier,
        legalBasis: tier === 'anonymised' ? 'none' : 's251',
        datasets: [{ dataset: 'gp', fields: ['nhs_number', 'sex', 'code', 'event_date'] }],
        recipients: [researcher.id],
        requestedBy: officer.id,
      });
      const first = await release(s);
      expect(first.persons.size).toBe(PERSONS);
      const objector = tier === 'anonymised' ? 7 : 8;
      await addObjection(t.sql, String(9400000000 + objector), 'type2');
      const second = await release(s);
      const gone = minus(first.persons, second.persons);
      expect(gone).toContain(objector);
      expect(gone.length).toBeGreaterThanOrEqual(K);
      expect(minus(second.persons, first.persons)).toEqual([]);
      expect(second.manifest.differencing).toMatchObject({ k: K, comparedWith: first.id, personsLeft: 10 });
      // Those withheld stay withheld: a third release with nothing changed is the second again.
      const third = await release(s);
      expect([...third.persons].sort()).toEqual([...second.persons].sort());
      expect(third.manifest.differencing).toMatchObject({ comparedWith: second.id, personsLeft: 0 });
      await t.sql.query(`DELETE FROM objection_events WHERE nhs_number = $1`, [
        String(9400000000 + objector),
      ]);
    },
  );

  it('the verifier re-checks the rule from the release ledger: a release that differs from the last by 1 to k-1 persons is rejected', async () => {
    const s = spec({
      bidId: randomUUID(),
      tier: 'pseudonymised',
      datasets: [{ dataset: 'gp', fields: ['nhs_number', 'code'] }],
      recipients: [researcher.id],
      requestedBy: officer.id,
    });
    await release(s);
    const objector = String(9400000000 + 9);
    await addObjection(t.sql, objector, 'type2');
    const second = await release(s);
    const db = t.app.get<DataSource>(getDataSourceToken());
    const config = t.app.get<AppConfig>(APP_CONFIG);
    const deps = {
      keys: t.app.get(ReleaseKeys),
      anonK: config.anonK,
      anonMaxSuppression: config.anonMaxSuppression,
    };
    const dir = t.app.get(ReleaseEngine).dirOf(second.id);
    const ok = await verifyRelease(dir, { id: second.id }, db, deps);
    // As if the guard had not covered the objector: those it withheld released after all.
    const { rows: withheld } = await t.sql.query(
      `DELETE FROM release_ledger_members WHERE release_id = $1 AND state = 'withheld' RETURNING part, nhs`,
      [second.id],
    );
    // (The objector, withheld for good with their cover since probe 33, stays withheld.)
    for (const w of withheld as { part: number; nhs: string[] }[])
      for (const state of ['released', 'withheld']) {
        const nhs = w.nhs.filter((n) => (String(n) === objector) === (state === 'withheld'));
        if (nhs.length)
          await t.sql.query(
            `INSERT INTO release_ledger_members (release_id, state, part, nhs) VALUES ($1, $2, $3, $4)
             ON CONFLICT (release_id, state, part) DO UPDATE SET nhs = release_ledger_members.nhs || EXCLUDED.nhs`,
            [second.id, state, w.part, nhs],
          );
      }
    const err = await verifyRelease(dir, { id: second.id }, db, deps).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VerificationFailure);
    expect((err as Error).message).toMatch(
      /^differencing: 1 persons of the earlier release left since the bid's earlier release/,
    );
    expect(ok.checks).toContain(
      `differs from the bid's earlier release by no persons or by at least k=${K} (release ledger)`,
    );
    await t.sql.query(`DELETE FROM objection_events WHERE nhs_number = $1`, [objector]);
  });

  it('fewer than k new persons are held back until there are k', async () => {
    const s = spec({
      bidId: randomUUID(),
      tier: 'pseudonymised',
      datasets: [{ dataset: 'gp', fields: ['nhs_number', 'code'] }],
      recipients: [researcher.id],
      requestedBy: officer.id,
    });
    const first = await release(s);
    await addPersons(PERSONS + 1, PERSONS + 3);
    const second = await release(s);
    expect(minus(second.persons, first.persons)).toEqual([]);
    expect(second.manifest.differencing).toMatchObject({ personsJoined: 0 });
    expect(second.manifest.differencing).not.toHaveProperty('newPersonsHeldBack');
    await addPersons(PERSONS + 4, PERSONS + 12);
    const third = await release(s);
    expect(minus(third.persons, first.persons).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 12 }, (_, i) => PERSONS + 1 + i),
    );
    expect(third.manifest.differencing).toMatchObject({ personsJoined: 10 });
  });
  it.each(['pseudonymised', 'identifiable'] as const)(
    '%s: the rule holds for the persons the files show, not every eligible patient: an event range that leaves most of the cohort without rows (an outsider found one person between two releases)',
    async (tier) => {
      // 30 persons with events in 1990; the 120 (and more) others of the practice have none then:
      // eligible, in no file. The guard compared eligible patients, and covered an objector with
      // persons who had no rows: the files differed by the objector alone.
      const from = tier === 'pseudonymised' ? 501 : 601;
      await t.sql.query(
        `INSERT INTO patients (nhs_number, birth_date, sex, postcode, ethnicity, practice_ods, source_id)
         SELECT (9400000000 + g)::text, DATE '1960-01-01', 'F', 'LS1 4AP', 'A', 'A81001', g::text
           FROM generate_series($1::int, $2::int) g`,
        [from, from + 29],
      );
      await t.sql.query(
        `INSERT INTO gp_events (patient_id, practice_ods, resource_type, resource_id, code_system, code, event_date)
         SELECT p.id, p.practice_ods, 'condition', 'r' || p.source_id || '_1', 'snomed', 'c' || p.source_id || '_1', DATE '1990-06-01'
           FROM patients p WHERE p.source_id ~ '^[0-9]+$' AND p.source_id::int BETWEEN $1 AND $2`,
        [from, from + 29],
      );
      const s = spec({
        bidId: randomUUID(),
        tier,
        datasets: [{ dataset: 'gp', fields: ['nhs_number', 'code', 'event_date'] }],
        cohort: { eventsFrom: '1990-01-01', eventsTo: '1990-12-31' },
        recipients: [researcher.id],
        requestedBy: officer.id,
      });
      const objector = String(9400000000 + from + 3);
      try {
        const first = await release(s);
        expect(first.persons.size).toBe(30);
        if (tier === 'pseudonymised') await ledgerHeldToFiles(first.id);
        await addObjection(t.sql, objector, 'type2');
        const second = await release(s);
        const gone = minus(first.persons, second.persons);
        expect(gone).toContain(from + 3);
        expect(gone.length).toBeGreaterThanOrEqual(K);
        expect(minus(second.persons, first.persons)).toEqual([]);
        expect(second.manifest.differencing).toMatchObject({ comparedWith: first.id, personsLeft: 10 });
      } finally {
        await cleanUp(objector, from);
      }
    },
  );

  /** The verifier refuses a ledger that records a person the files do not show (one with no rows in range). */
  async function ledgerHeldToFiles(releaseId: string) {
    const db = t.app.get<DataSource>(getDataSourceToken());
    const config = t.app.get<AppConfig>(APP_CONFIG);
    const deps = {
      keys: t.app.get(ReleaseKeys),
      anonK: config.anonK,
      anonMaxSuppression: config.anonMaxSuppression,
    };
    const dir = t.app.get(ReleaseEngine).dirOf(releaseId);
    const ok = await verifyRelease(dir, { id: releaseId }, db, deps);
    expect(ok.checks).toContain("the differencing ledger's persons are those the files show");
    // Person 1: eligible, events only in 2012, so in no file of this release.
    const invisible = 9400000001;
    await t.sql.query(
      `INSERT INTO release_ledger_members (release_id, state, part, nhs) VALUES ($1, 'released', $2, $3)
       ON CONFLICT (release_id, state, part) DO UPDATE SET nhs = release_ledger_members.nhs || EXCLUDED.nhs`,
      [releaseId, invisible % 64, [invisible]],
    );
    const err = await verifyRelease(dir, { id: releaseId }, db, deps).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VerificationFailure);
    expect((err as Error).message).toBe(
      'differencing: the differencing ledger records 31 persons released; the files show between 30 and 30',
    );
    await t.sql.query(
      `UPDATE release_ledger_members SET nhs = array_remove(nhs, $2::bigint) WHERE release_id = $1 AND state = 'released'`,
      [releaseId, invisible],
    );
  }

  async function cleanUp(objector: string, from: number) {
    await t.sql.query(`DELETE FROM objection_events WHERE nhs_number = $1`, [objector]);
    await t.sql.query(
      `DELETE FROM gp_events WHERE patient_id IN (SELECT id FROM patients WHERE source_id ~ '^[0-9]+$' AND source_id::int BETWEEN $1 AND $2)`,
      [from, from + 29],
    );
    await t.sql.query(
      `DELETE FROM patients WHERE source_id ~ '^[0-9]+$' AND source_id::int BETWEEN $1 AND $2`,
      [from, from + 29],
    );
  }

  it.each(['anonymised', 'pseudonymised'] as const)(
    '%s: a second bid of the organisation, released after one Type 2 objection, differs from the first bid’s release by at least k (an attacker’s probe)',
    async (tier) => {
      // Before: each release was compared with its own bid's only. Bid 1 released before the
      // objection and bid 2, of the same specification, after it differed by the objector alone.
      const body = {
        tier,
        legalBasis: tier === 'anonymised' ? ('none' as const) : ('s251' as const),
        datasets: [{ dataset: 'gp' as const, fields: ['nhs_number', 'sex', 'code', 'event_date'] }],
        recipients: [researcher.id],
        requestedBy: officer.id,
      };
      const first = await release(spec({ ...body, bidId: randomUUID() }));
      expect(first.persons.size).toBeGreaterThanOrEqual(PERSONS);
      const objector = tier === 'anonymised' ? 17 : 18;
      await addObjection(t.sql, String(9400000000 + objector), 'type2');
      const second = await release(spec({ ...body, bidId: randomUUID() }));
      const gone = minus(first.persons, second.persons);
      expect(gone).toContain(objector);
      expect(gone.length).toBeGreaterThanOrEqual(K);
      expect(second.manifest.differencing).toMatchObject({ comparedWith: null, otherBidsCompared: 1 });
      // A third bid after the objection is withdrawn: the objector and the persons withheld for
      // them would come back together, against bid 2 (k or more) — but only the objector against
      // bid 1, so they are held back.
      await t.sql.query(`DELETE FROM objection_events WHERE nhs_number = $1`, [
        String(9400000000 + objector),
      ]);
      const third = await release(spec({ ...body, bidId: randomUUID() }));
      for (const earlier of [first, second]) {
        for (const side of [minus(third.persons, earlier.persons), minus(earlier.persons, third.persons)])
          expect(side.length === 0 || side.length >= K, `against ${earlier.id}`).toBe(true);
      }
      expect(third.manifest.differencing).toMatchObject({ otherBidsCompared: 2 });
      // The verifier re-checks it against the other bids: bid 2 as if its guard had withheld
      // nobody for bid 1 differs from bid 1 by the objector alone.
      const db = t.app.get<DataSource>(getDataSourceToken());
      const config = t.app.get<AppConfig>(APP_CONFIG);
      const deps = {
        keys: t.app.get(ReleaseKeys),
        anonK: config.anonK,
        anonMaxSuppression: config.anonMaxSuppression,
      };
      const dir = t.app.get(ReleaseEngine).dirOf(second.id);
      await verifyRelease(dir, { id: second.id }, db, deps);
      const { rows: withheld } = await t.sql.query(
        `DELETE FROM release_ledger_members WHERE release_id = $1 AND state = 'withheld' RETURNING part, nhs`,
        [second.id],
      );
      for (const w of withheld as { part: number; nhs: string[] }[])
        await t.sql.query(
          `INSERT INTO release_ledger_members (release_id, state, part, nhs)
           SELECT $1, 'released', $2, array(SELECT x FROM unnest($3::bigint[]) x WHERE x <> $4::bigint)
           ON CONFLICT (release_id, state, part) DO UPDATE SET nhs = release_ledger_members.nhs || EXCLUDED.nhs`,
          [second.id, w.part, w.nhs, 9400000000 + objector],
        );
      const err = await verifyRelease(dir, { id: second.id }, db, deps).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(VerificationFailure);
      expect((err as Error).message).toMatch(
        new RegExp(
          `^differencing: 1 persons of the earlier release left since release ${first.id} of another bid`,
        ),
      );
    },
  );
});
