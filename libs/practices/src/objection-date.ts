// Single modules, not the libraries' indexes: this file is also loaded by the intake's parse thread
// (staging-worker.ts), which must stay small.
import type { ObjectionAction } from '@custodian/objections/objection-codes';
import { englandWallClock } from '@custodian/core/england-time';

/**
 * When an objection entry took effect (SPEC §2; objection-entry.ts reads the rest of the entry).
 * Latest instant per type wins, so reading fails closed in opposite directions:
 * - a **registration** is read at the *latest* instant it carries (every date element it has, not
 *   the first one found), and at the time received where any of them is missing, unreadable, before
 *   1895, in the future or a period whose start is after its end — never earlier than it could be;
 * - a **withdrawal** at the *earliest* instant it carries, and refused where any of them is odd.
 * Read at an earlier date element than another, an entry with two dates lifted an objection between
 * them (an outsider's probe, 2026-12-07, finding 3).
 */
export const EARLIEST_DATE = '1895-01-01';

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

const DATE_TIME =
  /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

type Precision = 'full' | 'no-offset' | 'date' | 'partial';

/**
 * A FHIR date, dateTime or instant as a UTC instant to the second ('YYYY-MM-DDTHH:MM:SSZ'), with
 * how precise it was; undefined when it is not one (wrong form, impossible date, bad offset).
 */
export function readInstant(
  v: unknown,
): { instant: string; first: string; last: string; precision: Precision } | undefined {
  if (typeof v !== 'string') return undefined;
  const m = DATE_TIME.exec(v);
  if (!m) return undefined;
  const [, ys, mos, ds, hs, mis, ss, zone] = m;
  const y = Number(ys);
  const mo = mos === undefined ? 1 : Number(mos);
  const d = ds === undefined ? 1 : Number(ds);
  const h = hs === undefined ? 0 : Number(hs);
  const mi = mis === undefined ? 0 : Number(mis);
  const s = ss === undefined ? 0 : Number(ss);
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59) return undefined;
  let offsetMinutes = 0;
  if (zone && zone !== 'Z') {
    const oh = Number(zone.slice(1, 3));
    const om = Number(zone.slice(4, 6));
    if (oh > 14 || om > 59 || (oh === 14 && om > 0)) return undefined;
    offsetMinutes = (zone[0] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  const local = Date.UTC(y, mo - 1, d, h, mi, s);
  const check = new Date(local);
  // Date.UTC maps years 0–99 to 1900–1999; such years are out of range anyway.
  if (check.getUTCFullYear() !== y || check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d)
    return undefined;
  const utc = (ms: number) => new Date(ms - offsetMinutes * 60_000).toISOString().slice(0, 19) + 'Z';
  const precision: Precision =
    ds === undefined ? 'partial' : hs === undefined ? 'date' : zone === undefined ? 'no-offset' : 'full';
  // The last second the value denotes: a year, a month, a day or a minute covers every instant of it.
  const next =
    mos === undefined
      ? Date.UTC(y + 1, 0, 1)
      : ds === undefined
        ? Date.UTC(y, mo, 1)
        : hs === undefined
          ? Date.UTC(y, mo - 1, d + 1)
          : ss === undefined
            ? local + 60_000
            : local + 1000;
  // Without an offset the value is a wall-clock time of the practice's: in England it began up to an
  // hour before the same time in UTC (British Summer Time). A withdrawal is read at that first
  // instant (a review, 2026-12-07: a withdrawal dated 2020-05-03 was read at 00:00Z and lifted an
  // objection made at 00:30 BST that day).
  const first =
    zone === undefined ? Math.min(local, englandWallClock(local)) : local - offsetMinutes * 60_000;
  return {
    instant: utc(local),
    first: new Date(first).toISOString().slice(0, 19) + 'Z',
    last: utc(next - 1000),
    precision,
  };
}

/** How a warning ends when a registration's date could not be used: it counts from the time received. */
export const TIME_RECEIVED = 'time received used';

const NOTE: Record<ObjectionAction, Record<Precision, string | undefined>> = {
  register: {
    full: undefined,
    'no-offset': 'time without offset, read as UTC',
    date: 'date only, read as its last second (23:59:59 UTC)',
    partial: 'partial date, read as its last second',
  },
  withdraw: {
    full: undefined,
    'no-offset': 'time without offset, read as the earlier of England (Europe/London) and UTC',
    date: 'date only, read as its first second in England (Europe/London) or UTC, the earlier',
    partial: 'partial date, read as its first second in England (Europe/London) or UTC, the earlier',
  },
};

export type ObjectionDate = { instant: string; date: string; warning?: string } | { error: string };

/**
 * The resources an objection may be recorded on, and the date elements each may carry (a
 * `…Period` is read as its start; without one, a registration at the time received and a withdrawal
 * at its end). SPEC §2 has objections on Observations; a
 * practice system that codes one on a Condition or Procedure is still heard (fail closed): the
 * code, not the resource type, makes the objection. The first is where the extractor writes the
 * one date it keeps (r4-required.ts).
 */
export const OBJECTION_DATE_FIELDS: Record<string, readonly string[]> = {
  Observation: ['effectiveDateTime', 'effectiveInstant', 'effectivePeriod'],
  Condition: ['onsetDateTime', 'recordedDate', 'onsetPeriod'],
  Procedure: ['performedDateTime', 'performedPeriod'],
};

export const PERIOD_REVERSED = 'a period whose start is after its end';

/**
 * One date element's instant, or why it is odd. A registration dated by a day, a month or a year is
 * read at the last second it covers, no later than when it was received; a withdrawal at the first.
 * A withdrawal dated within that span may have come before the registration, and then must not lift
 * it (it did while a registration was read at the span's start: 2026-12-07). A period is read at its
 * start, as SPEC §2 says ("period start, else the time received"), which lets a withdrawal dated
 * inside a registration's period lift it: the contract's choice, kept.
 */
function dateOf(
  field: string,
  value: unknown,
  received: string,
  action: ObjectionAction,
): { instant: string; note?: string } | { error: string } {
  let v = value;
  let periodNote: string | undefined;
  if (field.endsWith('Period')) {
    const p = isObject(value) ? value : {};
    if (p.start !== undefined && p.end !== undefined) {
      const [start, end] = [readInstant(p.start), readInstant(p.end)];
      if (!start || !end) return { error: 'invalid date' };
      if (start.instant > end.instant) return { error: PERIOD_REVERSED };
    }
    // SPEC §2: a period is read at its start, "else the time received" for an objection. A
    // withdrawal without a start has no first instant (it was read at its end, and lifted
    // objections made before that end: a review, 2026-12-07): refused.
    if (p.start === undefined) return { error: 'period without a start' };
    [v, periodNote] = [p.start, 'period, its start used'];
  }
  const read = readInstant(v);
  if (!read) return { error: 'invalid date' };
  // In the future: after the time received, from the instant the entry is read at (a withdrawal
  // dated today in England was refused from 23:00 to midnight UTC in summer, its UTC midnight still
  // to come: review-21).
  if (
    read.instant.slice(0, 10) < EARLIEST_DATE ||
    (action === 'withdraw' ? read.first : read.instant) > received
  )
    return { error: 'date before 1895-01-01 or in the future' };
  const note = periodNote ?? NOTE[action][read.precision];
  if (action === 'withdraw') return { instant: read.first, note };
  return read.last > received
    ? { instant: received, note: `${note ?? 'its span'} runs past the time received, ${TIME_RECEIVED}` }
    : { instant: read.last, note };
}

/**
 * When an objection entry took effect, as a UTC instant to the second and its UTC date. `received`
 * is the time the extract was read ('YYYY-MM-DDTHH:MM:SSZ'): what a registration with no readable
 * date, or one in the future, counts from. A withdrawal without a readable date is an error (the
 * line is refused, the withdrawal not applied). Every date element the entry carries is read: a
 * registration at the latest, a withdrawal at the earliest (see above).
 */
export function objectionDate(r: Json, action: ObjectionAction, received: string): ObjectionDate {
  const type = String(r.resourceType);
  const fields = (OBJECTION_DATE_FIELDS[type] ?? []).filter((f) => r[f] !== undefined);
  if (!fields.length) {
    if (action === 'withdraw') return { error: `${type}: date missing` };
    return at(received, `${type}: objection date missing, ${TIME_RECEIVED}`);
  }
  let chosen: { instant: string; note?: string; path: string } | undefined;
  for (const f of fields) {
    const path = `${type}.${f}`;
    const d = dateOf(f, r[f], received, action);
    if ('error' in d) {
      if (action === 'withdraw') return { error: `${path}: ${d.error}` };
      return at(received, `${path}: ${d.error}, ${TIME_RECEIVED}`);
    }
    const better =
      action === 'register' ? d.instant > (chosen?.instant ?? '') : d.instant < (chosen?.instant ?? '~');
    if (!chosen || better) chosen = { ...d, path };
  }
  const c = chosen!;
  const several =
    fields.length > 1
      ? `${type}: ${fields.length} date elements, the ${action === 'register' ? 'latest' : 'earliest'} used (${c.path})`
      : undefined;
  const note = [several, c.note && `${c.path}: ${c.note}`].filter(Boolean).join('; ');
  return at(c.instant, note || undefined);
}

function at(instant: string, warning?: string): ObjectionDate {
  return warning ? { instant, date: instant.slice(0, 10), warning } : { instant, date: instant.slice(0, 10) };
}

/** Now, to the second, in UTC. */
export const instantUtc = (now = new Date()) => now.toISOString().slice(0, 19) + 'Z';
