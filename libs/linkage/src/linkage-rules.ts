/**
 * The eight-step deterministic linkage of SPEC §3 as plain TypeScript: the executable statement of
 * the rules. Production runs the set-based SQL in `linkage.sql.ts`; the property tests check that the
 * SQL links exactly as this reference does.
 */

export type Sex = 'M' | 'F' | 'U';

/** A date as `YYYY-MM-DD`. */
export type IsoDate = string;

export interface LinkPatient {
  id: number;
  nhsNumber: string;
  birthDate: IsoDate;
  sex: Sex;
  postcode: string | null;
}

export interface LinkRow {
  id: number;
  nhsNumber: string | null;
  birthDate: IsoDate | null;
  sex: Sex;
  postcode: string | null;
}

export type LinkageStep = 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8;
export const LINKAGE_STEPS: readonly LinkageStep[] = [1, 2, 3, 4, 5, 6, 7, 8];

export interface LinkResult {
  patientId: number | null;
  step: LinkageStep | null;
}

const parts = (d: IsoDate) => ({ y: d.slice(0, 4), m: d.slice(5, 7), d: d.slice(8, 10) });

/**
 * Partial date of birth: at least two of year, month and day agree, or the year agrees and the day
 * and month are swapped (03/07 against 07/03). An exact match is also a partial match; the steps
 * that need it exact come first.
 */
export function partialDobMatch(a: IsoDate, b: IsoDate): boolean {
  const x = parts(a);
  const y = parts(b);
  const agree = Number(x.y === y.y) + Number(x.m === y.m) + Number(x.d === y.d);
  return agree >= 2 || (x.y === y.y && x.m === y.d && x.d === y.m);
}

/** 1 January is where unknown dates of birth are often defaulted: too weak for steps 6 and 7. */
export const isFirstOfJanuary = (d: IsoDate) => d.slice(5) === '01-01';

/** `ZZ99 3VZ` (no fixed abode), `ZZ99 3WZ` (not known) and other ZZ99 pseudo-postcodes. */
export const isPseudoPostcode = (p: string) => p.startsWith('ZZ99');

const sexMatches = (r: LinkRow, p: LinkPatient) => r.sex !== 'U' && r.sex === p.sex;
const dobEquals = (r: LinkRow, p: LinkPatient) => r.birthDate !== null && r.birthDate === p.birthDate;
const dobPartial = (r: LinkRow, p: LinkPatient) =>
  r.birthDate !== null && partialDobMatch(r.birthDate, p.birthDate);
const postcodeEquals = (r: LinkRow, p: LinkPatient) => r.postcode !== null && r.postcode === p.postcode;
const nhsEquals = (r: LinkRow, p: LinkPatient) => r.nhsNumber !== null && r.nhsNumber === p.nhsNumber;
/** The row's NHS number does not contradict the patient's: the row has none, or the same one. */
const nhsAgrees = (r: LinkRow, p: LinkPatient) => r.nhsNumber === null || r.nhsNumber === p.nhsNumber;
const demographicEligible = (r: LinkRow) => r.birthDate !== null && !isFirstOfJanuary(r.birthDate);

/** Step n's match predicate, exactly as SPEC §3 words it. */
export const STEP_PREDICATES: Record<LinkageStep, (r: LinkRow, p: LinkPatient) => boolean> = {
  1: (r, p) => nhsEquals(r, p) && sexMatches(r, p) && dobEquals(r, p) && postcodeEquals(r, p),
  2: (r, p) => nhsEquals(r, p) && sexMatches(r, p) && dobEquals(r, p),
  3: (r, p) => nhsEquals(r, p) && sexMatches(r, p) && postcodeEquals(r, p) && dobPartial(r, p),
  4: (r, p) => nhsEquals(r, p) && sexMatches(r, p) && dobPartial(r, p),
  5: (r, p) => nhsEquals(r, p) && postcodeEquals(r, p),
  6: (r, p) =>
    nhsAgrees(r, p) &&
    demographicEligible(r) &&
    r.postcode !== null &&
    !isPseudoPostcode(r.postcode) &&
    sexMatches(r, p) &&
    dobEquals(r, p) &&
    postcodeEquals(r, p),
  7: (r, p) => nhsAgrees(r, p) && demographicEligible(r) && sexMatches(r, p) && dobEquals(r, p),
  8: (r, p) => nhsEquals(r, p),
};

/**
 * The literal algorithm, O(rows × patients × 8): steps in order, a row linked at a step leaves the
 * later steps, and a row with more than one candidate at a step is not linked at that step.
 * `objectors` are Type 1 objectors whose data the centre does not hold: candidates like any patient
 * (SPEC §3), so they make a step ambiguous; a row whose only candidate at a step is one of them could
 * be theirs, so it is given to nobody (it stays unlinked and leaves the later steps).
 */
export function linkReference(
  rows: LinkRow[],
  patients: LinkPatient[],
  objectors: Omit<LinkPatient, 'id'>[] = [],
): Map<number, LinkResult> {
  const result = new Map<number, LinkResult>(rows.map((r) => [r.id, { patientId: null, step: null }]));
  const candidates = [
    ...patients.map((p) => ({ ...p, held: true })),
    ...objectors.map((o) => ({ ...o, id: -1, held: false })),
  ];
  let remaining = rows;
  for (const step of LINKAGE_STEPS) {
    const matches = STEP_PREDICATES[step];
    remaining = remaining.filter((r) => {
      const found = candidates.filter((p) => matches(r, p));
      if (found.length !== 1) return true;
      if (found[0].held) result.set(r.id, { patientId: found[0].id, step });
      return false;
    });
  }
  return result;
}
