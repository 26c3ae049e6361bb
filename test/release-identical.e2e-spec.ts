import { createTestApp, TestApp } from '@custodian/testing';
import { ReleaseService } from '@custodian/release';
import { ensureActiveBid, seedGpPopulation, seedPractice, spec, waitForRelease } from './release-helpers';

/**
 * Byte-identical rebuilds (#29, docs/RELEASE.md): releases of one bid over the same data give the
 * same files, byte for byte, however they are sharded. The shard bounds came from ANALYZE's
 * histogram, a random sample once a table has more than 30,000 rows (300 x the statistics target):
 * three releases over 40,000 persons gave three SHA-256s. They are exact quantiles now.
 */
describe('rebuilt releases are byte-identical', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ RELEASE_SHARD_ROWS: '5000', RELEASE_MAX_SHARDS: '8' });
    await seedPractice(t.sql);
    await seedGpPopulation(t.sql, 40_000, 1);
  });
  afterAll(() => t?.close());

  it('three releases of a bid over 40,000 persons in 8 shards: the same SHA-256 and the same shard bounds each time', async () => {
    const officer = (await t.as('release_officer')).user;
    const researcher = (await t.as('researcher')).user;
    const s = spec({
      tier: 'pseudonymised',
      datasets: [{ dataset: 'gp', fields: ['nhs_number', 'sex', 'code', 'event_date'] }],
      recipients: [researcher.id],
      requestedBy: officer.id,
    });
    await ensureActiveBid(t, s);
    const runs: { sha: string; bounds: string }[] = [];
    for (let i = 0; i < 3; i++) {
      const { id } = await t.app.get(ReleaseService).request(s, officer as never);
      expect((await waitForRelease(t, id, 60_000)).state).toBe('completed');
      const { rows } = await t.sql.query(
        `SELECT (SELECT sha256 FROM release_files WHERE release_id = $1 AND name = 'gp.csv.gz') AS sha,
                (SELECT string_agg(first_person::text, ',' ORDER BY shard) FROM release_shards WHERE release_id = $1) AS bounds,
                (SELECT count(*)::int FROM release_shards WHERE release_id = $1) AS shards`,
        [id],
      );
      expect(rows[0].shards).toBe(8);
      runs.push({ sha: rows[0].sha, bounds: rows[0].bounds });
    }
    expect(new Set(runs.map((r) => r.bounds)).size).toBe(1);
    expect(new Set(runs.map((r) => r.sha)).size).toBe(1);
  }, 180_000);
});
