import { createTestApp, TestApp } from '@custodian/testing';
import { NHS, READ } from './fhir';
import { nextSecond, practiceReady } from './practice';

/**
 * The set-up the objection re-send tests share (objection-resend-undated, review 20–23, review 18):
 * a practice sending extracts to the centre, objection entries as its system writes them, and reads
 * of what the centre then holds. SPEC §2: re-sends are idempotent "by patient + resource id", an
 * undated objection is read at "the time received", and the latest instant per type wins.
 */

/** The app under test and practice A81001, rolled out and past its awareness period, as it signs in. */
export async function practiceApp(): Promise<{ t: TestApp; a: { Authorization: string } }> {
  const t = await createTestApp();
  return { t, a: await practiceReady(t, (await t.as('admin')).auth, 'A81001') };
}

/** A subject naming its patient by NHS number only (as the extractor's Type 1 markers go out). */
export const byNhs = (n: string) => ({ identifier: { system: NHS, value: n } });

/**
 * An objection entry (or any Read v2 coded Observation): `subject` a Patient id (referenced) or a
 * subject as given (`byNhs`, a reference with an identifier); `extra` its date elements, if any.
 */
export const readEntry = (
  id: string,
  subject: string | Record<string, unknown>,
  code: string,
  extra?: Record<string, unknown>,
) => ({
  resourceType: 'Observation',
  id,
  status: 'final',
  subject: typeof subject === 'string' ? { reference: `Patient/${subject}` } : subject,
  code: { coding: [{ system: READ, code }] },
  ...extra,
});

/** `n` days before now, to the second (an instant). */
export const isoDaysAgo = (n: number) =>
  new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 19) + 'Z';

/** Today's date in UTC (a day still running). */
export const todayUtc = () => new Date().toISOString().slice(0, 10);

/**
 * An instant, to the second, strictly after every upload made before the call and strictly before
 * every upload made after it (it waits for the seconds to pass on either side).
 */
export async function instantBetweenReceipts(): Promise<string> {
  await nextSecond();
  await nextSecond();
  const between = new Date(Date.now() - 500).toISOString().slice(0, 19) + 'Z';
  await nextSecond();
  return between;
}

/** Whether `objections_as_of(now())` holds an objection of `type` for NHS number `n`. */
export async function objectionAsOfNow(
  t: TestApp,
  n: string,
  type: 'type1' | 'type2' = 'type2',
): Promise<boolean> {
  const { rowCount } = await t.sql.query(
    `SELECT 1 FROM objections_as_of(now()) WHERE nhs_number = $1 AND type = $2`,
    [n, type],
  );
  return rowCount === 1;
}

/**
 * Moves NHS number `n`'s objection history `days` back, as if uploaded then: a date the practice
 * later gives (a withdrawal days ago) then lies between the first receipt and today.
 */
export async function receivedDaysAgo(t: TestApp, n: string, days: number): Promise<void> {
  await t.sql.query(
    `UPDATE objection_events
        SET effective_at = effective_at - make_interval(days => $2), recorded_at = recorded_at - make_interval(days => $2),
            effective_on = ((effective_at - make_interval(days => $2)) AT TIME ZONE 'UTC')::date
      WHERE nhs_number = $1`,
    [n, days],
  );
}

/** A Type 2 withdrawal through the API (`POST /api/objections`), as the practice. */
export async function withdrawThroughApi(
  t: TestApp,
  auth: { Authorization: string },
  n: string,
): Promise<void> {
  await t.http
    .post('/api/objections')
    .set(auth)
    .send({ nhsNumber: n, type: 'type2', action: 'withdraw' })
    .expect(201);
}

/** How many GP events the centre holds for NHS number `n`. */
export async function heldEvents(t: TestApp, n: string): Promise<number> {
  const { rows } = await t.sql.query(
    `SELECT count(*)::int AS c FROM gp_events e JOIN patients q ON q.id = e.patient_id WHERE q.nhs_number = $1`,
    [n],
  );
  return Number(rows[0].c);
}
