/**
 * England's clock (Europe/London, British and Double Summer Time included): what a practice in
 * England means by a day or a time without an offset. In libs/core so that the API and the portal
 * read "today" alike (the portal sent UTC's date, which the API refused as backdating from midnight
 * to 1 am in summer: probe 21).
 */
const ENGLAND = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'Europe/London',
  hourCycle: 'h23',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
});
/** The wall-clock time in England at instant `ms`, as milliseconds read as if UTC. */
export function wallClockInEngland(ms: number): number {
  const p = Object.fromEntries(ENGLAND.formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
  return Date.UTC(+p.year!, +p.month! - 1, +p.day!, +p.hour!, +p.minute!, +p.second!);
}
/**
 * The first instant at which England's clocks showed `wall` (a wall-clock time held as milliseconds
 * read as if UTC): an hour earlier in British Summer Time, two in the Double Summer Time of 1941–45
 * and 1947 (a review, 2026-12-07: dates from 1895 are accepted). A time the clocks skipped reads as
 * UTC.
 */
export function englandWallClock(wall: number): number {
  for (const hours of [2, 1]) {
    const at = wall - hours * 3_600_000;
    if (wallClockInEngland(at) === wall) return at;
  }
  return wall;
}

/**
 * Today for a practice in England: its date in England (Europe/London), which from midnight to 1 am
 * in British Summer Time is a day after UTC's. A date a practice writes is its own day: an event or
 * an awareness start dated today was refused as "in the future" during that hour when today was UTC's
 * (an outsider's probe, 2026-12-07).
 */
export function todayInEngland(now = new Date()): string {
  const utc = now.toISOString().slice(0, 10);
  const england = new Date(wallClockInEngland(now.getTime())).toISOString().slice(0, 10);
  return england > utc ? england : utc;
}

/** Today's date (UTC) as 'YYYY-MM-DD'. */
export const todayUtc = (now = new Date()) => now.toISOString().slice(0, 10);
