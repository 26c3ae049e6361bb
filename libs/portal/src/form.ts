import { MAX_FORM_FIELD, MAX_FORM_VALUES } from './patterns';

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

/** A real calendar day YYYY-MM-DD in the years the API takes (core's rule: not 2026-02-31, not year 0). */
export { isCalendarDate } from '@custodian/core';

/**
 * An API's refusal on the form field it concerns, in plain words. The API's validation messages
 * name its DTO property (`displayName must be shorter than or equal to 200 characters`, `… (organisationId)`):
 * `fields` maps those properties to the form's fields; a message naming none goes on `fallback`.
 * (A walk-through found such messages shown raw, on another field: a long name under "Roles".)
 */
export function apiFieldError(
  message: string | undefined,
  fields: Record<string, string>,
  fallback: string,
  otherwise: string,
): { field: string; text: string } {
  const m = message ?? '';
  // The property the message begins with (the API's messages do), else the first one it names: "password
  // must not contain the email address" is the password's.
  const named =
    Object.keys(fields).find((p) => new RegExp(`^${p}\\s`).test(m)) ??
    Object.keys(fields).find((p) => new RegExp(`(^|\\W)${p}(\\W|$)`).test(m));
  const field = named ? fields[named] : fallback;
  const longest = /must be shorter than or equal to (\d+) characters/.exec(m);
  const shortest = /must be longer than or equal to (\d+) characters/.exec(m);
  if (longest) return { field, text: `Enter at most ${longest[1]} characters` };
  if (shortest) return { field, text: `Enter at least ${shortest[1]} characters` };
  if (!m) return { field, text: otherwise };
  // The property's own name out of the sentence (it means nothing on the page), a capital first.
  const plain = named
    ? m.replace(new RegExp(`\\s*\\(${named}\\)`), '').replace(new RegExp(`^${named}\\s+`), '')
    : m;
  return { field, text: plain.charAt(0).toUpperCase() + plain.slice(1) };
}
