/**
 * Dates and instants as a client may send them: real calendar days within the years the service
 * handles. A pattern alone let `2015-02-30` into a bid's cohort (the release then failed on it) and
 * `0000-01-01` into the register's filter (a 500 from PostgreSQL); an outsider's probe, 2026-12-06.
 */
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const INSTANT =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?([Zz]|([+-])(\d{2}):(\d{2})))?$/;
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
 * `±hh:mm`): hours 0-23, minutes 0-59, offsets within ±14:00, the day real. Seconds 0-59, or 60 where
 * the instant is 23:59 UTC (RFC 3339's leap second; PostgreSQL reads it as the next minute's start);
 * `t` and `z` in either case (RFC 3339 §5.6: a strict client's schema allows them; probe 17).
 */
export function isInstant(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  const m = INSTANT.exec(value);
  if (!m || !realDay(Number(m[1]), Number(m[2]), Number(m[3]))) return false;
  if (m[4] === undefined) return true;
  const [h, min, s] = [Number(m[4]), Number(m[5]), Number(m[6] ?? 0)];
  if (h > 23 || min > 59 || s > 60) return false;
  const offset =
    m[7].toUpperCase() === 'Z' ? 0 : (m[8] === '-' ? -1 : 1) * (Number(m[9]) * 60 + Number(m[10]));
  if (m[10] !== undefined && (Number(m[10]) > 59 || Math.abs(offset) > 14 * 60)) return false;
  return s < 60 || (((h * 60 + min - offset) % 1440) + 1440) % 1440 === 23 * 60 + 59;
}

/**
 * The instant an `isInstant` value names, as a Date: a date is midnight UTC, a leap second
 * (`23:59:60Z`) the next minute's start, as PostgreSQL reads it (`Date` refuses it).
 */
export function instantDate(value: string): Date {
  const upper = value.toUpperCase();
  const leap = /^(.{10}T\d{2}:\d{2}):60(\.\d+)?(.*)$/.exec(upper);
  if (!leap) return new Date(upper);
  return new Date(new Date(`${leap[1]}:59${leap[3]}`).getTime() + 1000);
}
