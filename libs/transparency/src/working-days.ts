/**
 * Working days for the published clocks (#24): Monday to Friday, UTC. Bank holidays are not
 * counted as non-working (docs/TRANSPARENCY.md): a clock may show a day more than a calendar of
 * holidays would.
 */
const DAY = 86_400_000;

const utcDay = (d: Date) => Math.floor(d.getTime() / DAY);
/** 0 Sunday … 6 Saturday, of a day number since the epoch (1970-01-01 was a Thursday). */
const weekday = (day: number) => (day + 4) % 7;
const isWorking = (day: number) => weekday(day) !== 0 && weekday(day) !== 6;

/** Working days after `from`'s date up to and including `to`'s date (0 when `to` is not later). */
export function workingDaysBetween(from: Date, to: Date): number {
  const a = utcDay(from);
  const b = utcDay(to);
  if (b <= a) return 0;
  const span = b - a;
  let n = Math.floor(span / 7) * 5;
  for (let d = a + Math.floor(span / 7) * 7 + 1; d <= b; d++) if (isWorking(d)) n++;
  return n;
}

/** The end (23:59:59.999 UTC) of the `n`th working day after `from`'s date. */
export function addWorkingDays(from: Date, n: number): Date {
  let day = utcDay(from);
  let left = n;
  while (left > 0) {
    day++;
    if (isWorking(day)) left--;
  }
  return new Date((day + 1) * DAY - 1);
}

/** Whole calendar days from `from` to `to` (0 when `to` is not later). */
export const daysBetween = (from: Date, to: Date): number =>
  Math.max(0, Math.floor((to.getTime() - from.getTime()) / DAY));
