import { execFileSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createTestApp, TestApp } from '@custodian/testing';
import { ReleaseService, ReleaseSpec } from '@custodian/release';
import { ensureActiveBid, seedGpPopulation, seedPractice, spec, waitForRelease } from './release-helpers';
import { killWorker, startWorker } from './support/worker-process';

/**
 * A full release disk (#29): a real 512 kB tmpfs as DATA_DIR under a real worker process. A shard
 * whose file write fails with ENOSPC ends its COPY and its connection without waiting on them;
 * the release fails with a reason for the officer, its partial files are removed, no session is
 * left in a transaction, and the bid can be released again. With too little room for the
 * estimate, the release is refused before any shard is built. Mounting needs root (the CI runner
 * and the development containers are); elsewhere the file is skipped.
 */
const mountable = (() => {
  if (process.getuid?.() !== 0) return false;
  const probe = mkdtempSync(path.join(tmpdir(), 'custodian-mount-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe], { stdio: 'ignore' });
    execFileSync('umount', [probe], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
})();

describe.skipIf(!mountable)('release on a full disk', () => {
  let t: TestApp;
  let mnt: string;
  let worker: ChildProcess | undefined;
  let officer: { id: string; roles: string[] };
  let researcherId: string;

  beforeAll(async () => {
    t = await createTestApp({ RUN_WORKER: 'false' });
    mnt = mkdtempSync(path.join(tmpdir(), 'custodian-full-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=512k,mode=0700', 'tmpfs', mnt]);
    officer = (await t.as('release_officer')).user as never;
    researcherId = (await t.as('researcher')).user.id;
    await seedPractice(t.sql);
    // 8,000 patients x 25 events: some 2 MB of gzip, four times the disk.
    await seedGpPopulation(t.sql, 8000, 25);
  });
  afterAll(async () => {
    if (worker) await killWorker(worker);
    if (mnt) {
      execFileSync('umount', ['-l', mnt], { stdio: 'ignore' });
      rmSync(mnt, { recursive: true, force: true });
    }
    await t?.close();
  });

  const newSpec = (): ReleaseSpec =>
    spec({
      tier: 'pseudonymised',
      datasets: [{ dataset: 'gp', fields: ['nhs_number', 'sex', 'code', 'event_date'] }],
      recipients: [researcherId],
      requestedBy: officer.id,
    });

  const filesUnder = (dir: string): string[] =>
    readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => path.join(e.parentPath, e.name));

  /** Sessions of this database (other than ours) still in a transaction or a COPY. */
  const stuckSessions = async () =>
    (
      await t.sql.query(
        `SELECT state, left(query, 40) AS query FROM pg_stat_activity
          WHERE datname = current_database() AND pid <> pg_backend_pid()
            AND (state LIKE 'idle in transaction%' OR (state = 'active' AND query ILIKE 'COPY%'))`,
      )
    ).rows;

  it('a write that fails with ENOSPC mid-shard: the release fails with RELEASE_DISK_FULL at once, nothing left on disk or in a transaction; the bid can be released again', async () => {
    // The estimate (1 byte a row) lets the build start: the disk fills while the shards write.
    worker = await startWorker(t, {
      DATA_DIR: mnt,
      RELEASE_SHARD_ROWS: '40000',
      RELEASE_MAX_SHARDS: '4',
      RELEASE_BYTES_PER_ROW: '1',
    });
    const s = newSpec();
    await ensureActiveBid(t, s);
    const { id } = await t.app.get(ReleaseService).request(s, officer as never);
    const done = await waitForRelease(t, id, 30_000);
    expect(done.state).toBe('failed');
    expect(done.failure_reason).toMatch(/^RELEASE_DISK_FULL: /);
    // The officer reads the figures; recipients do not (a size estimate follows the row count).
    const { rows } = await t.sql.query(
      `SELECT excluded -> 'failure' ->> 'reason' AS exact FROM releases WHERE id = $1`,
      [id],
    );
    expect(rows[0].exact).toMatch(/^RELEASE_DISK_FULL: the release disk is full: \d+ MB free, \d+ MB needed/);
    expect(done.failure_reason).not.toMatch(/\d+ MB/);
    // The partial files are gone, no connection is left in a transaction or a COPY, the worker lives.
    expect(filesUnder(mnt)).toEqual([]);
    await expect.poll(stuckSessions, { timeout: 5_000 }).toEqual([]);
    expect(worker.exitCode).toBeNull();
    // A new release of the bid is accepted (not 409) and fails the same clean way.
    const again = await t.app.get(ReleaseService).request(s, officer as never);
    expect((await waitForRelease(t, again.id, 30_000)).failure_reason).toMatch(/^RELEASE_DISK_FULL: /);
    await killWorker(worker);
    worker = undefined;
  }, 90_000);

  it('too little room for the estimate: refused before any shard is built', async () => {
    worker = await startWorker(t, { DATA_DIR: mnt, RELEASE_SHARD_ROWS: '40000', RELEASE_MAX_SHARDS: '4' });
    const s = newSpec();
    await ensureActiveBid(t, s);
    const { id } = await t.app.get(ReleaseService).request(s, officer as never);
    const done = await waitForRelease(t, id, 30_000);
    expect(done.state).toBe('failed');
    expect(done.failure_reason).toMatch(/^RELEASE_DISK_FULL: /);
    const { rows } = await t.sql.query(
      `SELECT (SELECT count(*)::int FROM release_shards WHERE release_id = $1) AS shards,
              excluded -> 'failure' ->> 'reason' AS exact FROM releases WHERE id = $1`,
      [id],
    );
    expect(rows[0].shards).toBe(0);
    expect(rows[0].exact).toMatch(/\d+ MB free, \d+ MB needed/);
    expect(filesUnder(mnt)).toEqual([]);
  }, 90_000);
});
