import type { TestApp } from '@custodian/testing';

export const daysAgo = (n: number) => new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10);

/** Creates a practice through the API (as admin), optionally rolled out and past its awareness period. */
export async function practiceReady(
  t: TestApp,
  admin: { Authorization: string },
  ods: string,
  opts: { rollout?: string; awarenessDaysAgo?: number | null } = {},
) {
  await t.http
    .post('/api/practices')
    .set(admin)
    .send({ odsCode: ods, name: `Surgery ${ods}`, rollout: opts.rollout ?? 'national' })
    .expect(201);
  if (opts.awarenessDaysAgo !== null)
    await t.http
      .post(`/api/practices/${ods}/awareness`)
      .set(admin)
      .send({
        startedOn: daysAgo(opts.awarenessDaysAgo ?? 60),
        reason: 'test set-up: awareness started earlier',
      })
      .expect(200);
  return (await t.as('practice', { practiceOds: ods })).auth;
}

export function upload(t: TestApp, auth: { Authorization: string }, ods: string, body: string | Buffer) {
  return t.http
    .post(`/api/practices/${ods}/extracts`)
    .set(auth)
    .set('Content-Type', 'application/x-ndjson')
    .send(typeof body === 'string' ? body : body.toString('utf8'));
}

export async function counts(t: TestApp) {
  const { rows } = await t.sql.query(`SELECT
    (SELECT count(*)::int FROM patients) AS patients,
    (SELECT count(*)::int FROM gp_events) AS events,
    (SELECT count(*)::int FROM objection_events) AS objection_events,
    (SELECT count(*)::int FROM objection_register) AS register`);
  return rows[0] as { patients: number; events: number; objection_events: number; register: number };
}

/**
 * Waits for the next whole second. SPEC §2 decides objections by their instant to the second, and
 * on a tie the objection wins: a withdrawal meant to lift an objection made just before must be
 * made in a later second.
 */
export async function nextSecond(): Promise<void> {
  const now = Math.floor(Date.now() / 1000);
  while (Math.floor(Date.now() / 1000) === now) await new Promise((r) => setTimeout(r, 20));
}

/** Whether the register holds an active objection of `type` for NHS number `n` (false when no row). */
export async function activeObjection(t: TestApp, n: string, type: 'type1' | 'type2'): Promise<boolean> {
  const { rows } = await t.sql.query(
    `SELECT active FROM objection_register WHERE nhs_number = $1 AND type = $2`,
    [n, type],
  );
  return (rows[0]?.active as boolean | undefined) ?? false;
}

/** The GP events the centre holds under NHS number `n` (any practice). */
export async function heldEvents(t: TestApp, n: string): Promise<number> {
  const { rows } = await t.sql.query(
    `SELECT count(*)::int AS c FROM gp_events e JOIN patients p ON p.id = e.patient_id WHERE p.nhs_number = $1`,
    [n],
  );
  return Number(rows[0].c);
}
