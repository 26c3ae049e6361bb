import { vi } from 'vitest';
import { createTestApp, TestApp } from '@custodian/testing';
import { ReleaseEngine, ReleaseService, ReleaseSpec } from '@custodian/release';
import {
  addEvent,
  addObjection,
  addPatient,
  addSocialCare,
  download,
  ensureActiveBid,
  newLoad,
  parseCsvGz,
  seedPractice,
  spec,
  otherOrganisationRecipient,
} from './release-helpers';

const N = (i: number) => String(9_100_000_000 + i);

/**
 * Issue #19: one snapshot per attempt (objections and data of the same instant, retries
 * included); the anonymised tier's suppression cap per file; no small numbers of persons where a
 * researcher looks (failure reasons, release views, manifests), exact figures for staff.
 * The engine is driven directly (no in-process worker), so an attempt can be made to fail.
 */
describe('release snapshot and small numbers (issue #19)', () => {
  let t: TestApp;
  let officer: { id: string; roles: string[]; auth: Record<string, string> };
  let researcher: { id: string; auth: Record<string, string> };

  beforeAll(async () => {
    t = await createTestApp({ RUN_WORKER: 'false' });
    const o = await t.as('release_officer');
    officer = { id: o.user.id, roles: o.user.roles, auth: o.auth };
    const r = await t.as('researcher');
    researcher = { id: r.user.id, auth: r.auth };
  });
  afterAll(async () => {
    // Each test's releases under an organisation of their own: a record-level release is compared
    // with the last release of every other bid of its organisation (release-ledger.ts).
    beforeEach(async () => {
      researcher = await otherOrganisationRecipient(t);
    });
    vi.restoreAllMocks();
    await t?.close();
  });

  /** Queues the release and runs one attempt in this process; a failed attempt (to be retried) rejects. */
  async function start(s: ReleaseSpec): Promise<string> {
    await ensureActiveBid(t, s);
    const { id } = await t.app.get(ReleaseService).request(s, officer as never);
    return id;
  }
  const attempt = (id: string) => t.app.get(ReleaseEngine).run(id);
  const row = async (id: string) =>
    (
      await t.sql.query(`SELECT state, failure_reason, snapshot_at, attempts FROM releases WHERE id = $1`, [
        id,
      ])
    ).rows[0];
  const view = async (id: string, auth: Record<string, string>) =>
    (await t.http.get(`/api/releases/${id}`).set(auth).expect(200)).body;

  /** Whole numbers 1–7 standing alone in a text, once `k=…` and percentages are set aside. */
  const smallNumbers = (text: string) =>
    text
      .replace(/k=\d+/g, '')
      .replace(/\d+(\.\d+)?%/g, '')
      .match(/(?<![\d.])[1-7](?![\d.])/g) ?? [];

  it('a retry takes objections and data afresh, of one instant: an objection registered between attempts is applied, and the manifest says when', async () => {
    await seedPractice(t.sql, 'D84001');
    const objector = N(1);
    for (const nhs of [objector, N(2), N(3)]) {
      const id = await addPatient(t.sql, { nhs, practice: 'D84001' });
      await addEvent(t.sql, id);
    }
    const s = spec({
      tier: 'identifiable',
      legalBasis: 's251',
      datasets: [{ dataset: 'gp', fields: ['nhs_number', 'code', 'event_date'] }],
      cohort: { practices: ['D84001'] },
      recipients: [researcher.id],
      requestedBy: officer.id,
    });
    const id = await start(s);
    // The first attempt dies after its snapshot and preparation, before the shards.
    const engine = t.app.get(ReleaseEngine);
    vi.spyOn(engine as never as { buildShards: () => Promise<unknown> }, 'buildShards').mockRejectedValueOnce(
      new Error('injected crash after the snapshot'),
    );
    await expect(attempt(id)).rejects.toThrow('injected crash');
    const first = await row(id);
    expect(first.state).toBe('running');
    expect(first.snapshot_at).not.toBeNull();

    // Between the attempts: a Type 2 objection is registered and a new patient is ingested.
    await new Promise((r) => setTimeout(r, 20));
    const { rows: before } = await t.sql.query(`SELECT now() AS at`);
    await addObjection(t.sql, objector, 'type2');
    const late = await addPatient(t.sql, { nhs: N(4), practice: 'D84001' });
    await addEvent(t.sql, late);

    await attempt(id);
    const done = await row(id);
    expect(done.state).toBe('completed');
    const gp = parseCsvGz((await download(t, researcher.auth, id, 'gp.csv.gz')).body);
    const people = new Set(gp.rows.map((r) => r.nhs_number));
    expect(people.has(objector)).toBe(false);
    // The data is of the retry's instant too: the patient ingested between the attempts is there.
    expect([...people].sort()).toEqual([N(2), N(3), N(4)]);
    const manifest = JSON.parse((await download(t, researcher.auth, id, 'manifest.json')).body.toString());
    expect(new Date(manifest.objections.snapshotAt).getTime()).toBeGreaterThan(
      new Date(first.snapshot_at).getTime(),
    );
    expect(new Date(manifest.objections.snapshotAt).getTime()).toBeGreaterThanOrEqual(
      new Date(before[0].at).getTime(),
    );
    expect(new Date(done.snapshot_at).toISOString()).toBe(manifest.objections.snapshotAt);
  });

  /** Anonymised (sex the only quasi-identifier, which has no ladder): `male` of `persons` are men. */
  async function anonymisedPractice(ods: string, base: number, persons: number, male: number) {
    await seedPractice(t.sql, ods);
    const ids: string[] = [];
    for (let i = 0; i < persons; i++) {
      const id = await addPatient(t.sql, { nhs: N(base + i), practice: ods, sex: i < male ? 'M' : 'F' });
      await addEvent(t.sql, id);
      ids.push(id);
    }
    return ids;
  }
  const anonSpec = (ods: string, datasets: ReleaseSpec['datasets']) =>
    spec({
      tier: 'anonymised',
      legalBasis: 'none',
      datasets,
      cohort: { practices: [ods] },
      recipients: [researcher.id],
      requestedBy: officer.id,
    });

  it("the suppression cap holds per file: a small file may not lose more than 5% of its persons inside the pool's 5%", async () => {
    // GP: 400 persons, 3 men (suppressed: within 5% of 400). Social care: 20 of them, 3 men among
    // them (3 of 20 = 15%). Pooled: 6 of 420, under 5%.
    const ids = await anonymisedPractice('E85001', 1000, 400, 3);
    const sc = await newLoad(t.sql, 'social_care');
    for (const pid of ids.slice(0, 20)) {
      const { rows } = await t.sql.query(`SELECT nhs_number FROM patients WHERE id = $1`, [pid]);
      await addSocialCare(t.sql, sc, { nhs: rows[0].nhs_number, patientId: pid });
    }
    const id = await start(
      anonSpec('E85001', [
        { dataset: 'gp', fields: ['nhs_number', 'sex', 'code'] },
        { dataset: 'social_care', fields: ['nhs_number', 'service_type'] },
      ]),
    );
    await attempt(id);
    const r = await row(id);
    expect(r.state).toBe('failed');
    expect(r.failure_reason).toMatch(/^K_ANONYMITY_UNACHIEVABLE: .*social_care/);
  });

  it('no count of 1–7 persons in what a researcher sees (failure reason, release view, manifest); staff see exact figures', async () => {
    // Three persons: k=10 would suppress all 3 of 3.
    await anonymisedPractice('F86001', 2000, 3, 0);
    const failed = await start(
      anonSpec('F86001', [{ dataset: 'gp', fields: ['nhs_number', 'sex', 'code'] }]),
    );
    await attempt(failed);
    expect((await row(failed)).state).toBe('failed');
    const seen = await view(failed, researcher.auth);
    expect(seen.failureReason).toMatch(/^K_ANONYMITY_UNACHIEVABLE/);
    expect(smallNumbers(seen.failureReason)).toEqual([]);
    expect(seen.excluded).toBeUndefined();
    const staff = await view(failed, officer.auth);
    expect(staff.failureReason).toMatch(/\b3 of 3\b/);

    // Completed, 3 of 400 suppressed: the downloaded manifest (and the researcher's view) shows no
    // 1–7 count of persons; the officer's `excluded` has the exact 3.
    await anonymisedPractice('G87001', 3000, 400, 3);
    const done = await start(anonSpec('G87001', [{ dataset: 'gp', fields: ['nhs_number', 'sex', 'code'] }]));
    await attempt(done);
    expect((await row(done)).state).toBe('completed');
    const manifest = JSON.parse((await download(t, researcher.auth, done, 'manifest.json')).body.toString());
    const k = manifest.kAnonymity;
    for (const n of [k.suppressed, k.population, ...Object.values(k.suppressedByFile ?? {})])
      expect(typeof n === 'number' ? n % 5 === 0 : n === '*').toBe(true);
    expect(k.suppressed).toBe('*');
    expect(k.population).toBe(400);
    const theirs = await view(done, researcher.auth);
    expect(theirs.excluded).toBeUndefined();
    expect(theirs.manifest).toBeUndefined();
    // While an anonymised release runs, its estimate is taken before k-anonymity's suppression:
    // estimate minus rows written would count the persons suppressed. Recipients do not see it.
    const running = await start(anonSpec('G87001', [{ dataset: 'gp', fields: ['nhs_number', 'sex'] }]));
    await t.sql.query(
      `UPDATE releases SET state = 'running', rows_estimated = 403, rows_done = 0 WHERE id = $1`,
      [running],
    );
    expect((await view(running, researcher.auth)).progress).toEqual({ rowsDone: 0, rowsEstimated: null });
    expect((await view(running, officer.auth)).progress).toEqual({ rowsDone: 0, rowsEstimated: 403 });
    // An aggregate release's estimate is its cohort's source rows: exact, and small for a small
    // cohort, refused or not (an outsider's probe). Recipients never see it.
    await t.sql.query(
      `UPDATE releases SET tier = 'aggregate', state = 'failed', rows_estimated = 3, rows_done = 0 WHERE id = $1`,
      [running],
    );
    expect((await view(running, researcher.auth)).progress).toEqual({ rowsDone: 0, rowsEstimated: null });
    expect((await view(running, officer.auth)).progress).toEqual({ rowsDone: 0, rowsEstimated: 3 });
    // The phase is told from the rows written alone where the estimate is hidden: "writing" against
    // "preparing" told a recipient whether an aggregate cohort held anyone (0 source rows or 3), and
    // "verifying" whether an anonymised release suppressed nobody (rows written = estimate).
    const phases = async (tier: string, estimated: number, done: number) => {
      await t.sql.query(
        `UPDATE releases SET tier = $2, state = 'running', rows_estimated = $3, rows_done = $4 WHERE id = $1`,
        [running, tier, estimated, done],
      );
      return [(await view(running, researcher.auth)).phase, (await view(running, officer.auth)).phase];
    };
    expect(await phases('aggregate', 0, 0)).toEqual(['preparing', 'preparing']);
    expect(await phases('aggregate', 3, 0)).toEqual(['preparing', 'writing']);
    expect(await phases('anonymised', 403, 400)).toEqual(['writing', 'writing']);
    expect(await phases('anonymised', 403, 403)).toEqual(['writing', 'verifying']);
    await t.sql.query(`UPDATE releases SET tier = 'aggregate', state = 'failed' WHERE id = $1`, [running]);
    // Hidden is null, not 0 beside rows written (probe 17: a client's percentage divided by zero).
    await t.sql.query(`UPDATE releases SET rows_done = 2 WHERE id = $1`, [running]);
    expect((await view(running, researcher.auth)).progress).toEqual({ rowsDone: 2, rowsEstimated: null });
    await t.sql.query(`UPDATE releases SET state = 'failed' WHERE id = $1`, [running]);
    const officerView = await view(done, officer.auth);
    expect(officerView.excluded.kAnonymitySuppressedByFile).toEqual({ gp: 3 });
    expect(officerView.excluded.kAnonymity).toMatchObject({ population: 400, suppressed: 3 });
  });
});
