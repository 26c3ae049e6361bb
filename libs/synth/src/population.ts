import { dayOf, isoDay } from './dates';
import { ErrorModel, errorModel } from './error-model';
import { NhsNumbers, NHS_NUMBER_CAPACITY } from './nhs-numbers';
import { mix32, Rng, uuid, Weighted } from './prng';
import {
  AGE_BANDS,
  ageGroup,
  Area,
  AREAS,
  ETHNIC_CATEGORIES,
  EthnicCode,
  femaleShare,
  INWARD_LETTERS,
  PRACTICE_KINDS,
  STREETS,
} from './reference-data';

export type Gender = 'male' | 'female' | 'other' | 'unknown';

export interface PopulationOptions {
  practices: number;
  patients: number;
  /** 0 … 2^32 − 1 (default 1). */
  seed?: number;
  /** Mean clinical events (conditions, procedures, medications, observations) per patient. */
  eventsPerPatient?: number;
  /** The generator's "today" (ISO date); fixed by default so a seed always gives the same bytes. */
  asOf?: string;
  /** ODS codes of the practices (default A81001, A81002, …). */
  odsCodes?: string[];
  /** The secondary files' imperfections and the share of twins (default `DEFAULT_ERROR_MODEL`). */
  errors?: Partial<ErrorModel>;
}

export interface PracticePlan {
  ods: string;
  name: string;
  area: Area;
  /** The postcode districts most of its patients live in (LS6, LS16, …). */
  districts: number[];
  /** Index of its first patient in the population, and how many it has. */
  firstPatient: number;
  patients: number;
}

/** A synthetic person's true demographics; `rng` continues to draw their records. */
export interface Person {
  index: number;
  rng: Rng;
  id: string;
  nhsNumber: string;
  birthDay: number;
  /** Age in whole years (approximately) at the generator's `asOf` date. */
  age: number;
  gender: Gender;
  ethnicity: EthnicCode | undefined;
  area: Area;
  postcode: string;
}

/** The default "today" of the generator: fixed, so a seed gives the same bytes whenever it runs. */
export const DEFAULT_AS_OF = '2025-12-31';
export const DEFAULT_SEED = 1;
export const DEFAULT_EVENTS_PER_PATIENT = 10;
const DAYS_PER_YEAR = 365.2425;

/** ODS code of the k-th generated practice: A81001, A81002, … then B81001 … (a letter and five digits). */
export function odsCodeFor(k: number): string {
  const letter = String.fromCharCode(65 + Math.floor(k / 999));
  if (letter > 'Z') throw new RangeError('too many practices');
  return `${letter}${81001 + (k % 999)}`;
}

/** A random inward code: a digit and two letters from the inward alphabet. */
export function inwardCode(rng: Rng): string {
  return `${rng.int(10)}${INWARD_LETTERS[rng.int(20)]}${INWARD_LETTERS[rng.int(20)]}`;
}

export function postcodeIn(rng: Rng, area: Area, district: number): string {
  return `${area.area}${district} ${inwardCode(rng)}`;
}

/**
 * The population: practices with their list sizes and catchments, and every person as a pure
 * function of (seed, index) — nothing is held per person, so memory does not grow with size.
 */
export class Population {
  readonly seed: number;
  readonly patients: number;
  readonly eventsPerPatient: number;
  readonly asOf: string;
  readonly asOfDay: number;
  readonly practices: PracticePlan[];
  readonly nhs: NhsNumbers;
  readonly errors: ErrorModel;
  private readonly ages: Weighted<number>;
  private readonly ethnicByArea = new Map<string, Weighted<(typeof ETHNIC_CATEGORIES)[number]>>();

  constructor(opts: PopulationOptions) {
    const { practices, patients } = opts;
    if (!Number.isInteger(practices) || practices < 1)
      throw new RangeError('practices must be a positive integer');
    if (!Number.isInteger(patients) || patients < 0)
      throw new RangeError('patients must be a non-negative integer');
    // Outsiders (in HES or social care, in no practice) use indices patients..3*patients.
    if (patients * 3 >= NHS_NUMBER_CAPACITY) throw new RangeError('too many patients');
    const seed = opts.seed ?? DEFAULT_SEED;
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)
      throw new RangeError('seed must be an integer from 0 to 4294967295');
    this.seed = seed;
    this.patients = patients;
    this.eventsPerPatient = opts.eventsPerPatient ?? DEFAULT_EVENTS_PER_PATIENT;
    if (!(this.eventsPerPatient >= 0)) throw new RangeError('eventsPerPatient must be ≥ 0');
    this.asOf = opts.asOf ?? DEFAULT_AS_OF;
    this.asOfDay = dayOf(this.asOf);
    if (this.asOfDay * 86_400_000 > Date.now()) throw new RangeError('asOf must not be in the future');
    this.nhs = new NhsNumbers(this.seed);
    this.errors = errorModel(opts.errors);
    this.ages = new Weighted(
      AGE_BANDS.map((_, i) => i),
      AGE_BANDS,
    );
    for (const area of AREAS) {
      this.ethnicByArea.set(
        area.area,
        new Weighted(
          ETHNIC_CATEGORIES,
          ETHNIC_CATEGORIES.map((e) => area.ethnicity?.[e.code] ?? e.w),
        ),
      );
    }
    const ods = opts.odsCodes ?? Array.from({ length: practices }, (_, k) => odsCodeFor(k));
    if (ods.length !== practices) throw new RangeError('odsCodes must list one code per practice');
    if (new Set(ods).size !== ods.length) throw new RangeError('odsCodes must be distinct');
    for (const code of ods)
      if (!/^[A-Z]\d{5}$/.test(code)) throw new RangeError('an ODS code is a letter and five digits');
    this.practices = this.planPractices(ods);
  }

  /** List sizes vary about threefold between practices; each practice has a home catchment. */
  private planPractices(ods: string[]): PracticePlan[] {
    const rng = new Rng(this.seed, 0x7fffffff);
    const weights = ods.map(() => 0.5 + rng.next());
    const total = weights.reduce((a, b) => a + b, 0);
    const sizes = weights.map((w) => Math.floor((this.patients * w) / total));
    let left = this.patients - sizes.reduce((a, b) => a + b, 0);
    for (let k = 0; left > 0; k = (k + 1) % sizes.length, left--) sizes[k]++;
    let first = 0;
    return ods.map((code, k) => {
      const area = AREAS[k % AREAS.length];
      const start = rng.int(area.districts.length);
      const districts = [0, 1, 2].map((d) => area.districts[(start + d) % area.districts.length]);
      const name = `${rng.pick(STREETS)} ${rng.pick(PRACTICE_KINDS)}`;
      const plan: PracticePlan = {
        ods: code,
        name,
        area,
        districts,
        firstPatient: first,
        patients: sizes[k],
      };
      first += sizes[k];
      return plan;
    });
  }

  /** The generator of person `index` (its own stream: independent of every other person). */
  rngFor(index: number): Rng {
    return new Rng(this.seed, mix32(index) ^ index);
  }

  /** Demographics of a registered patient of `practice`. */
  person(index: number, practice: PracticePlan): Person {
    const p = this.ownDemographics(index, practice);
    const twin = this.twinDraw(index);
    // A twin of the patient before them (who is not a twin of theirs in turn): same birth and home.
    if (twin && index > practice.firstPatient && !this.twinDraw(index - 1)) {
      const sibling = this.ownDemographics(index - 1, practice);
      p.birthDay = sibling.birthDay;
      p.age = sibling.age;
      p.postcode = sibling.postcode;
      if (twin.sameSex && (sibling.gender === 'male' || sibling.gender === 'female'))
        p.gender = sibling.gender;
    }
    return p;
  }

  private ownDemographics(index: number, practice: PracticePlan): Person {
    const rng = this.rngFor(index);
    const home = rng.chance(0.92) ? rng.pick(practice.districts) : rng.pick(practice.area.districts);
    return this.demographics(index, rng, practice.area, home);
  }

  /** Whether person `index` is drawn a twin (a stream of its own: twins 0 changes nothing else). */
  private twinDraw(index: number): { sameSex: boolean } | undefined {
    if (!this.errors.twins) return undefined;
    const rng = new Rng(this.seed ^ 0x7417_7417, mix32(index) ^ 0x2b1d);
    return rng.chance(this.errors.twins) ? { sameSex: rng.chance(0.6) } : undefined;
  }

  /**
   * Someone who is in hospital (`source` 1) or social-care (`source` 2) records but registered with
   * none of the practices. Their person index (and NHS number) lies beyond the population's.
   */
  outsider(index: number, area: Area, source: 1 | 2): Person {
    const id = this.patients * source + index;
    return this.demographics(id, this.rngFor(id), area, 0, true);
  }

  private demographics(index: number, rng: Rng, area: Area, district: number, anyDistrict = false): Person {
    if (anyDistrict) district = rng.pick(area.districts);
    const band = this.ages.pick(rng);
    const years = band * 5 + rng.next() * 5;
    const birthDay = this.asOfDay - Math.floor(years * DAYS_PER_YEAR) - 1;
    const age = Math.floor(years);
    const g = rng.next();
    const gender: Gender =
      g < 0.0005 ? 'other' : g < 0.0015 ? 'unknown' : rng.chance(femaleShare(age)) ? 'female' : 'male';
    const ethnicity = rng.chance(0.985) ? this.ethnicByArea.get(area.area)!.pick(rng).code : undefined;
    return {
      index,
      rng,
      id: uuid(rng),
      nhsNumber: this.nhs.of(index),
      birthDay,
      age,
      gender,
      ethnicity,
      area,
      postcode: postcodeIn(rng, area, district),
    };
  }

  /** Mean events for a person of this age, so that the population mean is `eventsPerPatient`. */
  meanEvents(age: number): number {
    return (this.eventsPerPatient * EVENT_AGE_FACTOR[ageGroup(age)]) / this.meanAgeFactor();
  }

  private cachedFactor?: number;
  private meanAgeFactor(): number {
    if (this.cachedFactor === undefined) {
      let acc = 0;
      let total = 0;
      AGE_BANDS.forEach((w, band) => {
        for (let y = 0; y < 5; y++) {
          acc += (w / 5) * EVENT_AGE_FACTOR[ageGroup(band * 5 + y)];
          total += w / 5;
        }
      });
      this.cachedFactor = acc / total;
    }
    return this.cachedFactor;
  }

  iso(day: number): string {
    return isoDay(day);
  }
}

/** Older people have more recorded events. */
const EVENT_AGE_FACTOR = [0.5, 0.6, 1.0, 1.9];
