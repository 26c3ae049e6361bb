/**
 * Dates and instants as a client may send them: real calendar days within the years the service
 * handles. A pattern alone let `2015-02-30` into a bid's cohort (the release then failed on it) and
 * `0000-01-01` into the register's filter (a 500 from PostgreSQL); an outsider's probe, 2026-12-06.
 */
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const INSTANT =
  /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-](\d{2}):(\d{2})))?$/;
/** The years a date may name: past any patient's birth, short of any date the service will reach. */
export const CALENDAR_YEARS = { min: 1800, max: 2999 } as const;

function realDay(y: number, m: number, d: number): boolean {
  if (y < CALENDAR_YEARS.min || y > CALENDAR_YEARS.max || m < 1 || m > 12 || d < 1) return false;
  return d <= new Date(Date.UTC(y, m, 0)).getUTCDate();
}

/** `YYYY-MM-DD`, a day that exists, in `CALENDAR_YEARS`. */
export function isCalendarDate(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  const m = DATE.exec(value);
  return !!m && realDay(Number(m[1]), Number(m[2]), Number(m[3]));
}

/**
 * A date (`YYYY-MM-DD`, read as midnight UTC) or an ISO 8601 date-time with a zone (`Z` or
 * `±hh:mm`): hours 0-23, minutes and seconds 0-59, offsets within ±14:00, the day real.
 */
export function isInstant(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  const m = INSTANT.exec(value);
  if (!m || !realDay(Number(m[1]), Number(m[2]), Number(m[3]))) return false;
  if (m[4] === undefined) return true;
  const [h, min, s] = [Number(m[4]), Number(m[5]), Number(m[6] ?? 0)];
  if (h > 23 || min > 59 || s > 59) return false;
  if (m[7] === 'Z') return true;
  const offset = Number(m[8]) * 60 + Number(m[9]);
  return Number(m[9]) <= 59 && offset <= 14 * 60;
}
