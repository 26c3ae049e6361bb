/** Dates as whole days since 1970-01-01 (UTC), with a cache of their ISO strings. */

const MS_PER_DAY = 86_400_000;
const CACHE_FROM = -40_000; // 1860
const CACHE_SIZE = 70_000; // to 2061
const cache: (string | undefined)[] = new Array(CACHE_SIZE);

export function dayOf(iso: string): number {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(iso)) throw new Error(`not an ISO date: ${iso}`);
  const ms = Date.parse(`${iso}T00:00:00Z`);
  if (Number.isNaN(ms) || isoDay(ms / MS_PER_DAY) !== iso) throw new Error(`not a calendar date: ${iso}`);
  return ms / MS_PER_DAY;
}

/** `YYYY-MM-DD` for a day number. */
export function isoDay(day: number): string {
  const slot = day - CACHE_FROM;
  if (slot >= 0 && slot < CACHE_SIZE) {
    const hit = cache[slot];
    if (hit !== undefined) return hit;
    return (cache[slot] = new Date(day * MS_PER_DAY).toISOString().slice(0, 10));
  }
  return new Date(day * MS_PER_DAY).toISOString().slice(0, 10);
}

/** Year, month (1-12) and day of a day number. */
export function ymd(day: number): [number, number, number] {
  const s = isoDay(day);
  return [Number(s.slice(0, 4)), Number(s.slice(5, 7)), Number(s.slice(8, 10))];
}

/** The day number of a calendar date, or undefined when it does not exist (31 February). */
export function dayFromYmd(y: number, m: number, d: number): number | undefined {
  if (m < 1 || m > 12 || d < 1 || d > 31) return undefined;
  const ms = Date.UTC(y, m - 1, d);
  const back = new Date(ms);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== m - 1 || back.getUTCDate() !== d)
    return undefined;
  return ms / MS_PER_DAY;
}

/** Whole years between a birth day and another day. */
export function ageAt(birthDay: number, day: number): number {
  const [by, bm, bd] = ymd(birthDay);
  const [y, m, d] = ymd(day);
  return y - by - (m < bm || (m === bm && d < bd) ? 1 : 0);
}
