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

/**
 * The same date with day and month swapped, in the same year (1985-03-07 → 1985-07-03), or null
 * where that is no other date (day above 12, or day = month). The one DOB slip step 7 accepts.
 */
export function swappedDob(d: IsoDate): IsoDate | null {
  const x = parts(d);
  if (Number(x.d) > 12 || x.d === x.m) return null;
  return `${x.y}-${x.d}-${x.m}`;
}

/** 1 January is where unknown dates of birth are often defaulted: too weak for steps 6 and 7. */
export const isFirstOfJanuary = (d: IsoDate) => d.slice(5) === '01-01';

/** `ZZ99 3VZ` (no fixed abode), `ZZ99 3WZ` (not known) and other ZZ99 pseudo-postcodes. */
export const isPseudoPostcode = (p: string) => p.startsWith('ZZ99');

const sexMatches = (r: LinkRow, p: LinkPatient) => r.sex !== 'U' && r.sex === p.sex;
const dobEquals = (r: LinkRow, p: LinkPatient) => r.birthDate !== null && r.birthDate === p.birthDate;
const dobPartial = (r: LinkRow, p: LinkPatient) =>
  r.birthDate !== null && partialDobMatch(r.birthDate, p.birthDate);
const dobSwapped = (r: LinkRow, p: LinkPatient) =>
  r.birthDate !== null && swappedDob(r.birthDate) === p.birthDate;
const postcodeEquals = (r: LinkRow, p: LinkPatient) => r.postcode !== null && r.postcode === p.postcode;
const nhsEquals = (r: LinkRow, p: LinkPatient) => r.nhsNumber !== null && r.nhsNumber === p.nhsNumber;
/** The row's NHS number does not contradict the patient's: the row has none, or the same one. */
const nhsAgrees = (r: LinkRow, p: LinkPatient) => r.nhsNumber === null || r.nhsNumber === p.nhsNumber;
/** Steps 6 and 7 consider a row with a DOB not 1 January and a postcode that is not ZZ99. */
const demographicEligible = (r: LinkRow) =>
  r.birthDate !== null &&
  !isFirstOfJanuary(r.birthDate) &&
  r.postcode !== null &&
  !isPseudoPostcode(r.postcode);

/** Step n's match predicate, exactly as SPEC §3 words it. */
export const STEP_PREDICATES: Record<LinkageStep, (r: LinkRow, p: LinkPatient) => boolean> = {
  1: (r, p) => nhsEquals(r, p) && sexMatches(r, p) && dobEquals(r, p) && postcodeEquals(r, p),
  2: (r, p) => nhsEquals(r, p) && sexMatches(r, p) && dobEquals(r, p),
  3: (r, p) => nhsEquals(r, p) && sexMatches(r, p) && postcodeEquals(r, p) && dobPartial(r, p),
  4: (r, p) => nhsEquals(r, p) && sexMatches(r, p) && dobPartial(r, p),
  5: (r, p) => nhsEquals(r, p) && postcodeEquals(r, p),
  6: (r, p) =>
    nhsAgrees(r, p) && demographicEligible(r) && sexMatches(r, p) && dobEquals(r, p) && postcodeEquals(r, p),
  // Deviation from SPEC (issue #26, docs/LINKAGE.md): SPEC's sex + DOB without the postcode was
  // wrong about half the time, and sex + postcode + any partial DOB linked chance matches where
  // postcodes are shared. Step 7 is step 6 with the DOB as given or with day and month swapped (the
  // same year): the people with either date are the candidates.
  7: (r, p) =>
    nhsAgrees(r, p) &&
    demographicEligible(r) &&
    sexMatches(r, p) &&
    postcodeEquals(r, p) &&
    (dobEquals(r, p) || dobSwapped(r, p)),
  8: (r, p) => nhsEquals(r, p),
};

/**
 * The literal algorithm, O(rows × candidates × 8): steps in order, a row linked at a step leaves the
 * later steps, and a row with more than one candidate at a step is not linked at that step.
 *
 * Candidates are people, one per NHS number:
 * - the held `patients`;
 * - `objectors`: Type 1 objectors whose data the centre does not hold, as far as their demographics
 *   were kept (sex M or F, DOB not 1 January; at steps 6 and 7 only as a postcode-bearing key);
 * - at steps 6 and 7 (issue #26), for a row without an NHS number, everyone an NHS number on a
 *   source row names — the `rows` themselves and `named` (rows already held) — with that row's sex,
 *   DOB and postcode; a name that is a patient's NHS number is that patient. (A row that carries an
 *   NHS number cannot link at steps 6 or 7: step 6 needs what step 1 does, step 7 what step 3 does.)
 * A row whose only candidate at a step is not held could be theirs, so it is given to nobody (it
 * stays unlinked and leaves the later steps).
 */
export function linkReference(
  rows: LinkRow[],
  patients: LinkPatient[],
  objectors: Omit<LinkPatient, 'id'>[] = [],
  named: Omit<LinkRow, 'id'>[] = [],
): Map<number, LinkResult> {
  const result = new Map<number, LinkResult>(rows.map((r) => [r.id, { patientId: null, step: null }]));
  const byNhs = new Map(patients.map((p) => [p.nhsNumber, p]));
  const kept = objectors.filter((o) => o.sex !== 'U' && !isFirstOfJanuary(o.birthDate));
  // People named on rows, as candidates with the row's demographics (steps 6 and 7 only).
  const namings = [...rows, ...named]
    .filter((r): r is typeof r & { nhsNumber: string; birthDate: IsoDate } => !!r.nhsNumber && !!r.birthDate)
    .map((r) => ({ nhsNumber: r.nhsNumber, birthDate: r.birthDate, sex: r.sex, postcode: r.postcode }));
  let remaining = rows;
  for (const step of LINKAGE_STEPS) {
    const matches = STEP_PREDICATES[step];
    const demographic = step === 6 || step === 7;
    remaining = remaining.filter((r) => {
      const people = new Set<string>();
      for (const p of patients) if (matches(r, { ...p })) people.add(p.nhsNumber);
      for (const o of kept) if (matches(r, { ...o, id: -1 })) people.add(o.nhsNumber);
      if (demographic && r.nhsNumber === null)
        for (const n of namings) if (matches(r, { ...n, id: -1 })) people.add(n.nhsNumber);
      if (people.size !== 1) return true;
      const held = byNhs.get([...people][0]);
      if (held) result.set(r.id, { patientId: held.id, step });
      return false;
    });
  }
  return result;
}
