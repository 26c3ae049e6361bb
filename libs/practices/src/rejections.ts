/**
 * What an upload keeps about the lines it refused and the fields it dropped, bounded whatever the
 * upload holds: a file of millions of bad lines (4 MB of `x\n` is two million) or of millions of
 * distinct unknown keys once grew one array entry or map key each, until the 192 MB heap ran out
 * and the API died. The report lists the first lines by number and counts the rest by reason.
 */

/** How many refused lines the report lists (the lowest line numbers); the rest are counted. */
export const MAX_LISTED_REJECTIONS = 1000;
/** Distinct reasons counted by name; more are counted together. */
export const MAX_REASONS = 100;
/** Distinct dropped field paths counted by name; more are counted together. */
export const MAX_FIELD_NAMES = 200;
export const OTHER_REASONS = '(other reasons)';
export const OTHER_FIELDS = '(other fields)';
const MAX_REASON_LENGTH = 200;

export interface RejectedLine {
  line: number;
  reason: string;
}

export class RejectionTally {
  /** The refused lines with the lowest numbers, at most MAX_LISTED_REJECTIONS (unordered). */
  private readonly listed: RejectedLine[] = [];
  /** The highest line number listed, while the list is full (new lines above it are only counted). */
  private cutoff = Infinity;
  readonly byReason: Record<string, number> = Object.create(null);
  private reasons = 0;
  total = 0;

  add(line: number, reason: string): void {
    this.total++;
    const r = reason.length > MAX_REASON_LENGTH ? `${reason.slice(0, MAX_REASON_LENGTH)}…` : reason;
    bump(this.byReason, r, OTHER_REASONS, () => this.reasons++ < MAX_REASONS);
    if (line >= this.cutoff) return;
    this.listed.push({ line, reason: r });
    if (this.listed.length > MAX_LISTED_REJECTIONS * 2) this.trim();
  }

  /** Refused lines SQL found: `count` of them for `reason`, of which `lowest` are the first numbers. */
  addCounted(reason: string, count: number, lowest: number[]): void {
    for (const line of lowest) this.add(line, reason);
    const rest = count - lowest.length;
    if (rest <= 0) return;
    this.total += rest;
    bump(this.byReason, reason, OTHER_REASONS, () => this.reasons++ < MAX_REASONS, rest);
  }

  /** The listed lines in line order. */
  lines(): RejectedLine[] {
    this.trim();
    return [...this.listed].sort((a, b) => a.line - b.line);
  }

  private trim(): void {
    if (this.listed.length <= MAX_LISTED_REJECTIONS) return;
    this.listed.sort((a, b) => a.line - b.line);
    this.listed.length = MAX_LISTED_REJECTIONS;
    this.cutoff = this.listed[this.listed.length - 1]!.line;
  }
}

/** Adds `n` to `map[key]`, or to `map[other]` once `mayAdd()` says no more keys may be added. */
function bump(map: Record<string, number>, key: string, other: string, mayAdd: () => boolean, n = 1): void {
  if (key in map) map[key]! += n;
  else if (mayAdd()) map[key] = n;
  else map[other] = (map[other] ?? 0) + n;
}

/**
 * Adds a block's dropped-field counts into the upload's, keeping at most MAX_FIELD_NAMES names of
 * dropped fields and as many of ignored elements (keys under `ignored:`, counted apart so that one
 * can never push the other into its "other" bucket).
 */
export function addDroppedFields(into: Record<string, number>, from: Record<string, number>): void {
  const ignored = (k: string) => k.startsWith(IGNORED_KEY);
  let names = Object.keys(into).filter((k) => !ignored(k)).length;
  let ignoredNames = Object.keys(into).length - names;
  for (const k in from)
    if (ignored(k))
      bump(into, k, `${IGNORED_KEY}${OTHER_FIELDS}`, () => ignoredNames++ < MAX_FIELD_NAMES, from[k]!);
    else bump(into, k, OTHER_FIELDS, () => names++ < MAX_FIELD_NAMES, from[k]!);
}

/** The bucket `addDroppedFields` counts `key` in once the upload has named as many as it may. */
export const otherBucket = (key: string) =>
  key.startsWith(IGNORED_KEY) ? `${IGNORED_KEY}${OTHER_FIELDS}` : OTHER_FIELDS;

/** The prefix of ignored-element keys (fhir.ts's IGNORED_PREFIX; kept here so this file imports nothing). */
const IGNORED_KEY = 'ignored:';
