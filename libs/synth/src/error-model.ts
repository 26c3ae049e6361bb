/**
 * The imperfections of the secondary files, tunable (docs/SYNTHETIC_DATA.md "Error model") so that a
 * linkage measurement can be repeated under harsher assumptions. Shares from 0 to 1; the defaults
 * give the same files as before they were tunable.
 */
export interface ErrorModel {
  /** Share of HES rows whose NEWNHSNO is blank (row-level). */
  hesMissingNhsNumber: number;
  /** Share of social-care people whose NHS_NUMBER is blank on all their rows (person-level). */
  socialCareMissingNhsNumber: number;
  /**
   * Of the social-care rows of people who do have an NHS number there, the share on which it is blank
   * anyway (row-level: the number recorded on some of a client's records and not others). Default 0.
   */
  socialCareRowMissingNhsNumber: number;
  /** Share of people whose address in the source differs from the GP one (person-level). */
  hesMoved: number;
  socialCareMoved: number;
  /** Of the movers, the share who moved to another area (the rest move within their area). */
  movedOtherArea: number;
  /**
   * Of the social-care movers with two or more records, the share who moved during their care: their
   * records before a random one are at the GP address (and that area's LA code), the rest at the new
   * one. Default 0 (a mover's records are all at the new address).
   */
  socialCareMovedMidway: number;
  /** Share of people whose DOB has day and month swapped in the source (person-level). */
  hesDobSwapped: number;
  socialCareDobSwapped: number;
  /** Share of people with another DOB error: year ±1, day ±1, or 1 January (person-level). */
  hesDobError: number;
  socialCareDobError: number;
  /** Share of the source's rows that belong to people registered with none of the practices. */
  hesOutsiders: number;
  socialCareOutsiders: number;
  /**
   * Share of registered patients born a twin of the patient before them in the same practice: same
   * date of birth and address, the same sex 60% of the time (default 0: none).
   */
  twins: number;
}

export const DEFAULT_ERROR_MODEL: Readonly<ErrorModel> = Object.freeze({
  hesMissingNhsNumber: 0.05,
  socialCareMissingNhsNumber: 0.4,
  socialCareRowMissingNhsNumber: 0,
  hesMoved: 0.1,
  socialCareMoved: 0.08,
  movedOtherArea: 0.3,
  socialCareMovedMidway: 0,
  hesDobSwapped: 0.02,
  socialCareDobSwapped: 0.01,
  hesDobError: 0.01,
  socialCareDobError: 0.01,
  hesOutsiders: 0.03,
  socialCareOutsiders: 0.03,
  twins: 0,
});

/** The default error model with `overrides`, each checked to be a share from 0 to 1 (outsiders below 1). */
export function errorModel(overrides: Partial<ErrorModel> = {}): ErrorModel {
  const m = { ...DEFAULT_ERROR_MODEL, ...overrides };
  for (const [k, v] of Object.entries(m)) {
    if (!(k in DEFAULT_ERROR_MODEL)) throw new RangeError(`unknown error-model key ${k}`);
    if (typeof v !== 'number' || !(v >= 0 && v <= 1))
      throw new RangeError(`${k} must be a share from 0 to 1`);
  }
  if (m.hesOutsiders >= 1 || m.socialCareOutsiders >= 1) throw new RangeError('outsiders must be below 1');
  return m;
}

/** Parses `key=value,key=value` (the CLI's and the benchmark's `--errors`). */
export function parseErrorModel(text: string): Partial<ErrorModel> {
  const out: Record<string, number> = {};
  for (const part of text.split(',').filter((x) => x.trim())) {
    const [k, v] = part.split('=').map((x) => x.trim());
    if (!(k in DEFAULT_ERROR_MODEL)) throw new RangeError(`unknown error-model key ${k}`);
    out[k] = Number(v);
  }
  errorModel(out);
  return out;
}
