import { createTestApp, TestApp } from '@custodian/testing';
import { HES_HEADER, hes, insertPatients, nhsNumber, SOCIAL_HEADER, social, toCsv } from './linkage-fixtures';

/**
 * probe 38: the HES and social-care loaders' "impossible date" (SPEC §2: before 1895-01-01 or in
 * the future) was uneven.
 * - A social-care START_DATE in the future (`2999-01-01`, or tomorrow) was stored: a record of care
 *   that has not happened, released as an event date; HES refuses an admission in the future.
 * - "Today" was the database's `current_date`, the date in its session's zone (UTC), while GP
 *   extracts are judged by the practice's today in England (`todayInEngland`): from midnight to
 *   1 am in British Summer Time an admission (or a birth) of today in England was refused as in
 *   the future. The app runs in this process, so only `Date` is moved (timers stay real); the
 *   database's clock cannot be, which is the point: the load now takes its today from the service.
 */
describe('probe 38: source dates in the future, and whose today', () => {
  let t: TestApp;
  const n = nhsNumber(380000001);
  beforeAll(async () => {
    t = await createTestApp();
    await insertPatients(t.sql, [{ nhs: n, dob: '1980-05-17', sex: 'F', postcode: 'LS6 1AB' }]);
  });
  afterAll(async () => {
    vi.useRealTimers();
    await t?.close();
  });

  const load = async (auth: { Authorization: string }, path: string, csv: string) =>
    (
      await t.http
        .post(`/api/sources/${path}`)
        .set(auth)
        .set('Content-Type', 'text/csv')
        .send(csv)
        .expect(201)
    ).body as { rows: number; rejected: { row: number; reason: string }[] };

  it('refuses a social-care service that starts in the future, and keeps the rest of the file', async () => {
    const dm = (await t.as('data_manager')).auth;
    const tomorrow = new Date(Date.now() + 36 * 3_600_000).toISOString().slice(0, 10);
    const report = await load(
      dm,
      'social-care',
      toCsv(SOCIAL_HEADER, [
        social('E08000035', 'F1', n, '1980-05-17', 'F', 'LS6 1AB', { start: '2012-06-01' }),
        social('E08000035', 'F2', n, '1980-05-17', 'F', 'LS6 1AB', { start: '2999-01-01' }),
        social('E08000035', 'F3', n, '1980-05-17', 'F', 'LS6 1AB', { start: tomorrow }),
        // A planned end is no impossible date.
        social('E08000035', 'F4', n, '1980-05-17', 'F', 'LS6 1AB', {
          start: '2012-06-01',
          end: '2999-01-01',
        }),
      ]),
    );
    expect(report.rejected.map(({ row, reason }) => ({ row, reason }))).toEqual([
      { row: 2, reason: 'invalid_start_date' },
      { row: 3, reason: 'invalid_start_date' },
    ]);
    const { rows } = await t.sql.query(`SELECT person_id FROM social_care_records ORDER BY person_id`);
    expect(rows.map((r) => r.person_id)).toEqual(['F1', 'F4']);
  });

  it("takes an admission of today in England at 00:30 in summer (UTC's date is yesterday)", async () => {
    // 23:30 UTC on 15 June 2027 is 00:30 on 16 June in England (BST).
    vi.useFakeTimers({ toFake: ['Date'], now: new Date('2027-06-15T23:30:00Z'), shouldAdvanceTime: true });
    const dm = (await t.as('data_manager')).auth;
    const report = await load(
      dm,
      'hes',
      toCsv(HES_HEADER, [
        hes('T1', n, '1980-05-17', '2', 'LS6 1AB', { admidate: '2027-06-16' }),
        hes('T2', n, '1980-05-17', '2', 'LS6 1AB', { admidate: '2027-06-17' }),
      ]),
    );
    vi.useRealTimers();
    expect(report.rejected.map(({ row, reason }) => ({ row, reason }))).toEqual([
      { row: 2, reason: 'invalid_admission_date' },
    ]);
  });
});
