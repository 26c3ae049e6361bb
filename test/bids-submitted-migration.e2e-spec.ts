import { randomUUID } from 'node:crypto';
import { BidsSubmitted1764000051000 } from '../migrations/1764000051000-bids-submitted';
import { migrationDatabase } from './support/migration-database';

/**
 * Migration 1764000051000 on bids and amendments written without `submitted_at` (by SQL, by an
 * older loader): those a submission reached get it from their history (or their creation), a
 * draft withdrawn without ever being submitted stays without (reviewers never see it), and the
 * CHECK constraints refuse a row in a reviewer's state without it from then on.
 */
describe('migration: bids submitted', () => {
  const database = migrationDatabase();

  it('sets submitted_at from the history where a submission happened, never where none did, and keeps it set', async () => {
    const m = new BidsSubmitted1764000051000();
    const sql = database.sql();
    const q = database.runner();
    await m.down(q);
    const org = randomUUID();
    const user = randomUUID();
    await sql.query(`INSERT INTO organisations (id, name, kind) VALUES ($1, 'Migration Org', 'academic')`, [
      org,
    ]);
    await sql.query(
      `INSERT INTO users (id, email, password_hash, display_name, roles, organisation_id)
       VALUES ($1, 'migration@example.org', 'x', 'Migration', '{researcher}', $2)`,
      [user, org],
    );
    const bid = async (state: string, submits: string[] = []) => {
      const id = randomUUID();
      await sql.query(
        `INSERT INTO bids (id, organisation_id, created_by, state, title, purpose, public_benefit, legal_basis,
                           requested_tier, datasets, duration_months, recipients, created_at)
         VALUES ($1, $2, $3, $4, 'A bid', 'A purpose', 'A benefit', 's251', 'pseudonymised', '[]', 12,
                 ARRAY[$3::uuid], '2026-01-01T10:00:00Z')`,
        [id, org, user, state],
      );
      for (const at of submits)
        await sql.query(
          `INSERT INTO bid_events (bid_id, at, action, from_state, to_state) VALUES ($1, $2, 'submit', 'draft', 'submitted')`,
          [id, at],
        );
      return id;
    };
    const draft = await bid('draft');
    const neverSubmitted = await bid('withdrawn');
    const submittedThenWithdrawn = await bid('withdrawn', ['2026-02-01T09:00:00Z']);
    const resubmitted = await bid('in_review', ['2026-02-01T09:00:00Z', '2026-03-01T09:00:00Z']);
    const noHistory = await bid('active');
    // Returned at screening or by the panel: submitted at least once (its history, else its creation).
    const returned = await bid('returned', ['2026-02-05T09:00:00Z']);
    const returnedNoHistory = await bid('returned');
    // Amendments of the active bid: version 1 (the request), a draft withdrawn, one submitted.
    const version = (v: number, state: string) =>
      sql.query(
        `INSERT INTO bid_versions (bid_id, version, base_version, state, datasets, duration_months, recipients, created_at)
         VALUES ($1, $2, $3, $4, '[]', 12, ARRAY[$5::uuid], '2026-04-01T10:00:00Z')`,
        [noHistory, v, v === 1 ? null : 1, state, user],
      );
    await version(1, 'in_force');
    await version(2, 'withdrawn');
    await version(3, 'withdrawn');
    await version(4, 'in_review');
    // A version replaced by a later one was in force: submitted (its creation, with no event).
    await version(5, 'superseded');
    await sql.query(
      `INSERT INTO bid_events (bid_id, at, action, details) VALUES ($1, '2026-04-02T09:00:00Z', 'amend_submit', '{"version": 3}')`,
      [noHistory],
    );

    await m.up(q);
    const at = (id: string) =>
      sql
        .query(
          `SELECT to_char(submitted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI"Z"') AS at FROM bids WHERE id = $1`,
          [id],
        )
        .then((r) => r.rows[0].at as string | null);
    expect({
      draft: await at(draft),
      neverSubmitted: await at(neverSubmitted),
      submittedThenWithdrawn: await at(submittedThenWithdrawn),
      resubmitted: await at(resubmitted),
      noHistory: await at(noHistory),
      returned: await at(returned),
      returnedNoHistory: await at(returnedNoHistory),
    }).toEqual({
      draft: null,
      neverSubmitted: null,
      submittedThenWithdrawn: '2026-02-01T09:00Z',
      resubmitted: '2026-03-01T09:00Z',
      noHistory: '2026-01-01T10:00Z',
      returned: '2026-02-05T09:00Z',
      returnedNoHistory: '2026-01-01T10:00Z',
    });
    const versions = await sql.query(
      `SELECT version, to_char(submitted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI"Z"') AS at
         FROM bid_versions WHERE bid_id = $1 ORDER BY version`,
      [noHistory],
    );
    expect(versions.rows).toEqual([
      { version: 1, at: null },
      { version: 2, at: null },
      { version: 3, at: '2026-04-02T09:00Z' },
      { version: 4, at: '2026-04-01T10:00Z' },
      { version: 5, at: '2026-04-01T10:00Z' },
    ]);
    // From now on a bid or an amendment cannot reach a reviewer's state without having been submitted.
    await expect(sql.query(`UPDATE bids SET state = 'submitted' WHERE id = $1`, [draft])).rejects.toThrow(
      /bids_submitted/,
    );
    await expect(
      sql.query(`UPDATE bid_versions SET state = 'submitted' WHERE bid_id = $1 AND version = 2`, [noHistory]),
    ).rejects.toThrow(/bid_versions_submitted/);
    // down(): the constraints go (the back-filled dates stay: they are true), and up() again keeps them.
    await m.down(q);
    await sql.query(`UPDATE bids SET state = 'submitted' WHERE id = $1`, [draft]);
    await sql.query(`UPDATE bids SET state = 'draft' WHERE id = $1`, [draft]);
    expect(await at(resubmitted)).toBe('2026-03-01T09:00Z');
    await m.up(q);
    expect(await at(resubmitted)).toBe('2026-03-01T09:00Z');
    expect(await at(draft)).toBeNull();
  });
});
