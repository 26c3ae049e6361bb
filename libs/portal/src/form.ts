import { MAX_FORM_FIELD, MAX_FORM_VALUES, PATTERNS } from './patterns';

/** Whether a parsed form body is within the limits every portal form keeps (checked before any use). */
export function formWithinLimits(body: unknown): boolean {
  if (typeof body !== 'object' || body === null) return true;
  let values = 0;
  for (const v of Object.values(body)) {
    for (const x of Array.isArray(v) ? v : [v]) {
      if (++values > MAX_FORM_VALUES) return false;
      if (typeof x === 'string' && x.length > MAX_FORM_FIELD) return false;
    }
  }
  return true;
}

/** Helpers for urlencoded form bodies (values may be a string, an array for repeated keys, or absent). */
export type FormBody = Record<string, string | string[] | undefined>;

export const str = (v: unknown): string =>
  (Array.isArray(v) ? String(v[0] ?? '') : typeof v === 'string' ? v : '').trim();
export const all = (v: unknown): string[] =>
  (Array.isArray(v) ? v : typeof v === 'string' ? [v] : []).map((x) => String(x).trim()).filter(Boolean);
export const commaList = (v: unknown): string[] =>
  str(v)
    .split(/[,\s]+/)
    .map((x) => x.trim())
    .filter(Boolean);

export interface FormErrors {
  /** For the error summary: text and the field's id. */
  list: { text: string; href: string }[];
  byField: Record<string, string>;
}

export function formErrors(): FormErrors & {
  add(field: string, text: string, id?: string): void;
  any(): boolean;
} {
  const e = {
    list: [] as { text: string; href: string }[],
    byField: {} as Record<string, string>,
    add(field: string, text: string, id = field) {
      if (e.byField[field]) return;
      e.byField[field] = text;
      e.list.push({ text, href: `#${id}` });
    },
    any: () => e.list.length > 0,
  };
  return e;
}

/** A real calendar day YYYY-MM-DD (not 2026-02-31). */
export function isCalendarDate(s: string): boolean {
  if (!PATTERNS.isoDate.test(s)) return false;
  const d = new Date(`${s}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
}
