import { dayFromYmd, ymd } from './dates';
import { Rng, Weighted } from './prng';
import { ErrorModel } from './error-model';
import { Person, Population, postcodeIn } from './population';
import { AGE_BANDS, ageGroup, AREAS, HES_DIAGNOSES, SERVICES_ADULT, SERVICES_CHILD } from './reference-data';

/**
 * Hospital (HES admitted patient care) and social-care rows for the same population, with the
 * imperfections real linkage meets. Rates are documented in docs/SYNTHETIC_DATA.md.
 */

export const HES_HEADER = 'EPIKEY,NEWNHSNO,DOB,SEX,HOMEADD,ADMIDATE,DIAG_4_01,OPERTN_4_01,PROCODE';
export const SOCIAL_CARE_HEADER =
  'LA_CODE,PERSON_ID,NHS_NUMBER,DOB,GENDER,POSTCODE,SERVICE_TYPE,START_DATE,END_DATE';
export const TRUTH_HEADER = 'SOURCE,ROW_KEY,TRUE_NHS_NUMBER,IN_GP_POPULATION,IMPERFECTIONS';

export const HES_RATES = {
  /** Chance that a patient has any admission, by age group [0-17, 18-39, 40-64, 65+]. */
  admitted: [0.25, 0.3, 0.4, 0.7],
  /** Extra episodes (beyond the first) of an admitted person: geometric with this mean. */
  extraEpisodes: 1.5,
  // Outsiders, missing NHS numbers, movers and DOB errors: the error model (error-model.ts).
  zz99NotKnown: 0.005,
  zz99NoFixedAbode: 0.003,
  /** Sex recorded as 9 (not specified) or 0 (not known) for someone whose sex is known. */
  sexNotRecorded: 0.003,
  /** Episodes at a trust other than the local one. */
  otherProvider: 0.1,
  /** Admissions fall within this many years before `asOf`. */
  years: 10,
} as const;

export const SOCIAL_CARE_RATES = {
  /** Chance that a person receives social care, by age group. */
  inCare: [0.012, 0.01, 0.02, 0.12],
  /** Extra service records beyond the first: geometric with this mean. */
  extraRecords: 1.0,
  // Outsiders, missing NHS numbers, movers and DOB errors: the error model (error-model.ts).
  missingPostcode: 0.01,
  genderNotRecorded: 0.005,
  /** The last service is still open (END_DATE blank). */
  open: 0.5,
  years: 8,
} as const;

export interface SecondaryCounts {
  hesRows: number;
  hesUnmatchedRows: number;
  hesMissingNhsNumber: number;
  hesMovedRows: number;
  hesDobSwappedRows: number;
  hesDobErrorRows: number;
  hesZz99Rows: number;
  socialCareRows: number;
  socialCareUnmatchedRows: number;
  socialCareMissingNhsNumber: number;
  socialCareMovedRows: number;
  socialCareDobSwappedRows: number;
  socialCareDobErrorRows: number;
}

export function emptySecondaryCounts(): SecondaryCounts {
  return {
    hesRows: 0,
    hesUnmatchedRows: 0,
    hesMissingNhsNumber: 0,
    hesMovedRows: 0,
    hesDobSwappedRows: 0,
    hesDobErrorRows: 0,
    hesZz99Rows: 0,
    socialCareRows: 0,
    socialCareUnmatchedRows: 0,
    socialCareMissingNhsNumber: 0,
    socialCareMovedRows: 0,
    socialCareDobSwappedRows: 0,
    socialCareDobErrorRows: 0,
  };
}

const DIAGNOSES = Weighted.of(HES_DIAGNOSES);
const CHILD_SERVICES = Weighted.of(SERVICES_CHILD);
const ADULT_SERVICES = Weighted.of(SERVICES_ADULT);
const PROVIDERS = [...new Set(AREAS.map((a) => a.provider))];
const DAYS = 365.2425;

/** Share of the population in each age group (for the expected-row calculations). */
function groupShares(): number[] {
  const shares = [0, 0, 0, 0];
  let total = 0;
  AGE_BANDS.forEach((w, band) => {
    for (let y = 0; y < 5; y++) {
      shares[ageGroup(band * 5 + y)] += w / 5;
      total += w / 5;
    }
  });
  return shares.map((s) => s / total);
}

/** Chance, per GP patient, of an outsider, so that outsiders make `share` of the rows. */
function outsiderChance(share: number, perGroup: readonly number[], extraMean: number): number {
  const shares = groupShares();
  const rowsPerPerson = 1 + extraMean;
  const gpRows = shares.reduce((acc, s, g) => acc + s * perGroup[g] * rowsPerPerson, 0);
  return ((share / (1 - share)) * gpRows) / rowsPerPerson;
}

interface RecordedDob {
  day: number;
  flag?: 'dob_swapped' | 'dob_error';
}

/** The DOB another organisation holds: mostly right; sometimes day/month swapped or another slip. */
function recordedDob(
  rng: Rng,
  birthDay: number,
  swapRate: number,
  errorRate: number,
  maxDay: number,
): RecordedDob {
  const [y, m, d] = ymd(birthDay);
  const swappable = d <= 12 && d !== m;
  // About 37% of dates can be swapped; scale so the share of all people is `swapRate`.
  if (swappable && rng.chance(swapRate / 0.37)) {
    const swapped = dayFromYmd(y, d, m)!;
    if (swapped <= maxDay) return { day: swapped, flag: 'dob_swapped' };
  }
  if (rng.chance(errorRate)) {
    const kind = rng.int(3);
    let day = birthDay;
    if (kind === 0) day = dayFromYmd(y + (rng.chance(0.5) ? 1 : -1), m, Math.min(d, 28))!;
    else if (kind === 1) day = birthDay + (rng.chance(0.5) ? 1 : -1);
    else day = dayFromYmd(y, 1, 1)!;
    // Never a date in the future, and an "error" that changes nothing is no error.
    if (day > maxDay) day = dayFromYmd(y - 1, m, Math.min(d, 28))!;
    if (day !== birthDay) return { day, flag: 'dob_error' };
  }
  return { day: birthDay };
}

/** A new address: usually elsewhere in the same area, sometimes another area. */
function movedPostcode(rng: Rng, p: Person, otherArea: number): string {
  const area = rng.chance(1 - otherArea) ? p.area : rng.pick(AREAS);
  let code = postcodeIn(rng, area, rng.pick(area.districts));
  if (code === p.postcode) code = postcodeIn(rng, area, rng.pick(area.districts));
  return code;
}

function areaOf(postcode: string) {
  const letters = postcode.match(/^[A-Z]+/)![0];
  return AREAS.find((a) => a.area === letters)!;
}

export interface SecondarySinks {
  hes(line: string): void;
  socialCare(line: string): void;
  truth(line: string): void;
}

/** Writes the HES and social-care rows of each person, in population order. */
export class SecondaryGenerator {
  readonly counts = emptySecondaryCounts();
  private epikey = 0;
  private readonly epikeyPrefix: string;
  private readonly personIdMul = 61_803_399;
  private readonly errors: ErrorModel;
  private readonly hesOutsider: number;
  private readonly scOutsider: number;

  constructor(
    private readonly pop: Population,
    private readonly sinks: SecondarySinks,
  ) {
    this.epikeyPrefix = String(100 + (pop.seed % 900));
    this.errors = pop.errors;
    this.hesOutsider = outsiderChance(this.errors.hesOutsiders, HES_RATES.admitted, HES_RATES.extraEpisodes);
    this.scOutsider = outsiderChance(
      this.errors.socialCareOutsiders,
      SOCIAL_CARE_RATES.inCare,
      SOCIAL_CARE_RATES.extraRecords,
    );
  }

  /** Rows for a registered patient, then perhaps for an outsider living nearby. */
  forPatient(p: Person): void {
    this.hesRows(p, true, p.rng.chance(HES_RATES.admitted[ageGroup(p.age)]));
    this.socialCareRows(p, true, p.rng.chance(SOCIAL_CARE_RATES.inCare[ageGroup(p.age)]));
    if (p.rng.chance(this.hesOutsider)) this.hesRows(this.pop.outsider(p.index, p.area, 1), false, true);
    if (p.rng.chance(this.scOutsider))
      this.socialCareRows(this.pop.outsider(p.index, p.area, 2), false, true);
  }

  private hesRows(p: Person, inGp: boolean, admitted: boolean): void {
    if (!admitted) return;
    const rng = p.rng;
    const r = HES_RATES;
    const c = this.counts;
    const episodes = 1 + rng.geometric(r.extraEpisodes);
    const err = this.errors;
    const moved = rng.chance(err.hesMoved);
    const postcode = moved ? movedPostcode(rng, p, err.movedOtherArea) : p.postcode;
    const dob = recordedDob(rng, p.birthDay, err.hesDobSwapped, err.hesDobError, this.pop.asOfDay);
    const dobText = this.pop.iso(dob.day);
    const home = areaOf(postcode);
    const from = Math.max(p.birthDay, this.pop.asOfDay - Math.floor(r.years * DAYS));
    for (let e = 0; e < episodes; e++) {
      const flags: string[] = [];
      const key = `${this.epikeyPrefix}${String(++this.epikey).padStart(9, '0')}`;
      const missing = rng.chance(err.hesMissingNhsNumber);
      let sex = p.gender === 'male' ? '1' : p.gender === 'female' ? '2' : p.gender === 'other' ? '9' : '0';
      if (rng.chance(r.sexNotRecorded)) sex = rng.chance(0.5) ? '9' : '0';
      let homeadd = postcode;
      const z = rng.next();
      if (z < r.zz99NotKnown) homeadd = 'ZZ99 3WZ';
      else if (z < r.zz99NotKnown + r.zz99NoFixedAbode) homeadd = 'ZZ99 3VZ';
      const admitted = from + rng.int(this.pop.asOfDay - from + 1);
      const ageThen = Math.floor((admitted - p.birthDay) / DAYS);
      let diag = DIAGNOSES.pick(rng);
      for (let tries = 0; tries < 8; tries++) {
        const ok = ageThen >= diag.minAge && ageThen <= diag.maxAge && (!diag.sex || p.gender === 'female');
        if (ok) break;
        diag = tries === 7 ? HES_DIAGNOSES.find((d) => d.icd10 === 'R104')! : DIAGNOSES.pick(rng);
      }
      const opcs = diag.opcs && rng.chance(0.75) ? rng.pick(diag.opcs) : '';
      const provider = rng.chance(r.otherProvider) ? rng.pick(PROVIDERS) : home.provider;
      this.sinks.hes(
        `${key},${missing ? '' : p.nhsNumber},${dobText},${sex},${homeadd},${this.pop.iso(admitted)},${diag.icd10},${opcs},${provider}\n`,
      );
      c.hesRows++;
      if (!inGp) {
        c.hesUnmatchedRows++;
        flags.push('not_in_gp');
      }
      if (missing) {
        c.hesMissingNhsNumber++;
        flags.push('missing_nhs_number');
      }
      if (moved) {
        c.hesMovedRows++;
        flags.push('moved');
      }
      if (dob.flag === 'dob_swapped') c.hesDobSwappedRows++;
      if (dob.flag === 'dob_error') c.hesDobErrorRows++;
      if (dob.flag) flags.push(dob.flag);
      if (homeadd.startsWith('ZZ99')) {
        c.hesZz99Rows++;
        flags.push('zz99');
      }
      if (sex !== '1' && sex !== '2' && (p.gender === 'male' || p.gender === 'female'))
        flags.push('sex_not_recorded');
      this.sinks.truth(`hes,${key},${p.nhsNumber},${inGp ? 1 : 0},${flags.join('|')}\n`);
    }
  }

  private socialCareRows(p: Person, inGp: boolean, inCare: boolean): void {
    if (!inCare) return;
    const rng = p.rng;
    const r = SOCIAL_CARE_RATES;
    const c = this.counts;
    const records = 1 + rng.geometric(r.extraRecords);
    const err = this.errors;
    const hasNhs = !rng.chance(err.socialCareMissingNhsNumber);
    const moved = rng.chance(err.socialCareMoved);
    const postcode = rng.chance(r.missingPostcode)
      ? ''
      : moved
        ? movedPostcode(rng, p, err.movedOtherArea)
        : p.postcode;
    const la = postcode ? areaOf(postcode).laCode : p.area.laCode;
    // Knobs that are 0 by default draw nothing, so the default files stay as they were.
    const rowMissing = (): boolean =>
      err.socialCareRowMissingNhsNumber > 0 && rng.chance(err.socialCareRowMissingNhsNumber);
    const dob = recordedDob(
      rng,
      p.birthDay,
      err.socialCareDobSwapped,
      err.socialCareDobError,
      this.pop.asOfDay,
    );
    let gender = p.gender === 'male' ? 'M' : p.gender === 'female' ? 'F' : 'U';
    const genderMissing = gender !== 'U' && rng.chance(r.genderNotRecorded);
    if (genderMissing) gender = 'U';
    // A local-authority person id: a bijection of the person index (odd multiplier, not ×5).
    const personId = `P${String(((p.index % 1e8) * this.personIdMul + this.pop.seed) % 1e8).padStart(8, '0')}`;
    const last = this.pop.asOfDay - 1;
    const from = Math.min(last, Math.max(p.birthDay + 1, this.pop.asOfDay - Math.floor(r.years * DAYS)));
    const starts: number[] = [];
    for (let k = 0; k < records; k++) starts.push(from + rng.int(last - from + 1));
    const distinct = [...new Set(starts)].sort((a, b) => a - b);
    // Moved during their care: the records before `split` are at the GP address.
    const split =
      moved &&
      postcode &&
      distinct.length > 1 &&
      err.socialCareMovedMidway > 0 &&
      rng.chance(err.socialCareMovedMidway)
        ? 1 + rng.int(distinct.length - 1)
        : 0;
    distinct.forEach((start, k) => {
      const before = k < split;
      const rowPostcode = before ? p.postcode : postcode;
      const rowLa = before ? areaOf(p.postcode).laCode : la;
      const rowNhs = hasNhs && !rowMissing();
      const next = k + 1 < distinct.length ? distinct[k + 1] : undefined;
      const isLast = next === undefined;
      let end = '';
      if (!(isLast && rng.chance(r.open))) {
        const planned = start + 7 + rng.int(700);
        end = this.pop.iso(
          Math.min(planned, next !== undefined ? next - 1 : this.pop.asOfDay, this.pop.asOfDay),
        );
      }
      const ageThen = Math.floor((start - p.birthDay) / DAYS);
      const service = (ageThen < 18 ? CHILD_SERVICES : ADULT_SERVICES).pick(rng).name;
      const startText = this.pop.iso(start);
      this.sinks.socialCare(
        `${rowLa},${personId},${rowNhs ? p.nhsNumber : ''},${this.pop.iso(dob.day)},${gender},${rowPostcode},${service},${startText},${end}\n`,
      );
      c.socialCareRows++;
      const flags: string[] = [];
      if (!inGp) {
        c.socialCareUnmatchedRows++;
        flags.push('not_in_gp');
      }
      if (!rowNhs) {
        c.socialCareMissingNhsNumber++;
        flags.push('missing_nhs_number');
      }
      if (moved && postcode && !before) {
        c.socialCareMovedRows++;
        flags.push('moved');
      }
      if (!postcode) flags.push('missing_postcode');
      if (dob.flag === 'dob_swapped') c.socialCareDobSwappedRows++;
      if (dob.flag === 'dob_error') c.socialCareDobErrorRows++;
      if (dob.flag) flags.push(dob.flag);
      if (genderMissing) flags.push('sex_not_recorded');
      this.sinks.truth(
        `social_care,${rowLa}/${personId}/${startText},${p.nhsNumber},${inGp ? 1 : 0},${flags.join('|')}\n`,
      );
    });
  }
}
