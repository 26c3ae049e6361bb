import { Rng, uuid, Weighted } from './prng';
import { Person, PracticePlan, Population } from './population';
import {
  AGE_GROUPS,
  ageGroup,
  CodeRow,
  CONDITIONS,
  ETHNIC_CATEGORIES,
  ETHNIC_CATEGORY_EXTENSION,
  ETHNIC_CATEGORY_SYSTEM,
  GIVEN_FEMALE,
  GIVEN_MALE,
  MEDICATIONS,
  NHS_NUMBER_SYSTEM,
  OBJECTION_CODES,
  ObservationRow,
  OBSERVATIONS,
  ODS_SYSTEM,
  PROCEDURES,
  READ_V2,
  SNOMED,
  STREET_KINDS,
  STREETS,
  SURNAMES,
  UCUM,
} from './reference-data';
import { dayOf } from './dates';

/**
 * FHIR R4 NDJSON lines of a practice system's full export (SPEC §2), built as strings: every
 * interpolated value comes from the reference tables (checked JSON-safe by the tests) or is a
 * digit/date/code string, so no escaping is needed and generation stays fast.
 */

export interface ObjectionHistory {
  /** Entries in date order: the latest per type decides. */
  entries: { type: 'type1' | 'type2'; action: 'register' | 'withdraw'; day: number; code: string }[];
}

export interface RecordCounts {
  events: number;
  conditions: number;
  procedures: number;
  medications: number;
  observations: number;
  objectionEntries: number;
}

const ETHNIC_DISPLAY = new Map(ETHNIC_CATEGORIES.map((e) => [e.code, e.display]));
/** Practices moved from Read v2 to SNOMED CT in 2018: older events are sometimes Read coded. */
const SNOMED_SWITCH = dayOf('2018-04-01');
/** Electronic GP records: events are dated from birth or 1985, whichever is later. */
const RECORDS_FROM = dayOf('1985-01-01');
/** Type 1 / Type 2 opt-outs exist from 2013 (care.data). */
const OBJECTIONS_FROM = dayOf('2013-04-01');

export const RATES = {
  type1: 0.03,
  type2: 0.03,
  /** Of objectors, the share who later withdrew, and of those, who registered again. */
  withdrawn: 0.2,
  reRegistered: 0.35,
  /** Type 1 registrations coded in SNOMED CT (827241000000103) rather than Read v2 9Nu0. */
  type1Snomed: 0.3,
  eventTypes: { condition: 0.22, procedure: 0.08, medication: 0.35, observation: 0.35 },
  /** Free text a practice system holds (consultation notes, dosage instructions). */
  conditionNote: 0.03,
  dosageText: 0.3,
  /** Events dated before the SNOMED switch that carry a Read v2 code (where one exists). */
  readCoded: 0.4,
} as const;

const byGroup = <T extends CodeRow>(rows: T[]) =>
  AGE_GROUPS.map(
    (_, g) =>
      new Weighted(
        rows,
        rows.map((r) => r.w[g]),
      ),
  );
const CONDITION_TABLES = byGroup(CONDITIONS);
const PROCEDURE_TABLES = byGroup(PROCEDURES);
const MEDICATION_TABLES = byGroup(MEDICATIONS);
const OBSERVATION_TABLES = byGroup(OBSERVATIONS);

const NOTES = [
  'Seen in surgery today, advised to return if symptoms worsen',
  'Telephone consultation with patient',
  'Patient worried about family history, reassured',
  'Reviewed at home visit, daughter present',
  'Follow up in two weeks with practice nurse',
];
const DOSAGES = [
  'One tablet daily',
  'One tablet twice a day',
  'Two tablets four times a day when required',
  'One capsule at night',
  'Two puffs when required',
];

function coding(system: string, code: string, display: string): string {
  return `{"coding":[{"system":"${system}","code":"${code}","display":"${display}"}]}`;
}

function codedAs(rng: Rng, row: CodeRow, day: number): string {
  if (row.read && day < SNOMED_SWITCH && rng.chance(RATES.readCoded))
    return coding(READ_V2, row.read, row.display);
  return coding(SNOMED, row.code, row.display);
}

function prefixFor(p: Person): string {
  if (p.age < 16) return p.gender === 'female' ? 'Miss' : p.gender === 'male' ? 'Master' : 'Mx';
  return p.gender === 'female' ? (p.rng.chance(0.5) ? 'Mrs' : 'Ms') : p.gender === 'male' ? 'Mr' : 'Mx';
}

/** The Patient line: the extraction fields plus what must not leave the practice. */
export function patientLine(pop: Population, p: Person, practice: PracticePlan): string {
  const rng = p.rng;
  const given =
    p.gender === 'female' || (p.gender !== 'male' && rng.chance(0.5))
      ? rng.pick(GIVEN_FEMALE)
      : rng.pick(GIVEN_MALE);
  const family = rng.pick(SURNAMES);
  const prefix = prefixFor(p);
  const phone = `${p.area.phone}${rng.int(1000).toString().padStart(3, '0')}`;
  let telecom = `{"system":"phone","value":"${phone}","use":"home"}`;
  if (rng.chance(0.6))
    telecom += `,{"system":"phone","value":"07700 900${rng.int(1000).toString().padStart(3, '0')}","use":"mobile"}`;
  if (rng.chance(0.3))
    telecom += `,{"system":"email","value":"${given.toLowerCase()}.${family.toLowerCase().replace(/'/g, '')}${rng.int(100)}@example.com"}`;
  const street = `${1 + rng.int(180)} ${rng.pick(STREETS)} ${rng.pick(STREET_KINDS)}`;
  const ethnic = p.ethnicity
    ? `"extension":[{"url":"${ETHNIC_CATEGORY_EXTENSION}","valueCodeableConcept":${coding(ETHNIC_CATEGORY_SYSTEM, p.ethnicity, ETHNIC_DISPLAY.get(p.ethnicity)!)}}],`
    : '';
  return (
    `{"resourceType":"Patient","id":"${p.id}",${ethnic}` +
    `"identifier":[{"system":"${NHS_NUMBER_SYSTEM}","value":"${p.nhsNumber}"}],` +
    `"name":[{"use":"official","family":"${family}","given":["${given}"],"prefix":["${prefix}"]}],` +
    `"telecom":[${telecom}],"gender":"${p.gender}","birthDate":"${pop.iso(p.birthDay)}",` +
    `"address":[{"use":"home","line":["${street}"],"city":"${p.area.town}","postalCode":"${p.postcode}"}],` +
    `"generalPractitioner":[{"identifier":{"system":"${ODS_SYSTEM}","value":"${practice.ods}"}}]}`
  );
}

/** Clinical events of a person, one NDJSON line each, passed to `emit`. */
export function eventLines(
  pop: Population,
  p: Person,
  emit: (line: string) => void,
  counts: RecordCounts,
): void {
  const rng = p.rng;
  const n = Math.floor(-Math.log(1 - rng.next()) * pop.meanEvents(p.age) + 0.5);
  const from = Math.max(p.birthDay, RECORDS_FROM);
  const span = pop.asOfDay - from;
  const subject = `"subject":{"reference":"Patient/${p.id}"}`;
  const t = RATES.eventTypes;
  for (let e = 0; e < n; e++) {
    const u = rng.next();
    const day = pop.asOfDay - Math.floor(span * u * u);
    const age = Math.floor((day - p.birthDay) / 365.2425);
    const g = ageGroup(age);
    const date = pop.iso(day);
    const id = uuid(rng);
    const kind = rng.next();
    if (kind < t.condition) {
      const row = CONDITION_TABLES[g].pick(rng);
      const recorded = pop.iso(Math.min(pop.asOfDay, day + (rng.chance(0.7) ? 0 : rng.int(60))));
      const note = rng.chance(RATES.conditionNote) ? `,"note":[{"text":"${rng.pick(NOTES)}"}]` : '';
      emit(
        `{"resourceType":"Condition","id":"${id}","code":${codedAs(rng, row, day)},${subject},"onsetDateTime":"${date}","recordedDate":"${recorded}"${note}}`,
      );
      counts.conditions++;
    } else if (kind < t.condition + t.procedure) {
      const row = PROCEDURE_TABLES[g].pick(rng);
      emit(
        `{"resourceType":"Procedure","id":"${id}","status":"completed","code":${codedAs(rng, row, day)},${subject},"performedDateTime":"${date}"}`,
      );
      counts.procedures++;
    } else if (kind < t.condition + t.procedure + t.medication) {
      const row = MEDICATION_TABLES[g].pick(rng);
      const dosage = rng.chance(RATES.dosageText) ? `,"dosage":[{"text":"${rng.pick(DOSAGES)}"}]` : '';
      emit(
        `{"resourceType":"MedicationStatement","id":"${id}","status":"${day < pop.asOfDay - 365 ? 'completed' : 'active'}","medicationCodeableConcept":${coding(SNOMED, row.code, row.display)},${subject},"effectiveDateTime":"${date}"${dosage}}`,
      );
      counts.medications++;
    } else {
      const row: ObservationRow = OBSERVATION_TABLES[g].pick(rng);
      const value = row.value
        ? `,"valueQuantity":{"value":${row.value(age, (m, sd) => rng.normal(m, sd))},"unit":"${row.unit}","system":"${UCUM}","code":"${row.unit}"}`
        : '';
      emit(
        `{"resourceType":"Observation","id":"${id}","status":"final","code":${codedAs(rng, row, day)},${subject},"effectiveDateTime":"${date}"${value}}`,
      );
      counts.observations++;
    }
    counts.events++;
  }
}

/**
 * Objection entries (SPEC §2 code table): about 3% Type 1 and 3% Type 2 objectors; some withdraw
 * later, and some of those object again. Each entry is dated after the one before.
 */
export function objectionHistory(pop: Population, p: Person): ObjectionHistory {
  const rng = p.rng;
  const entries: ObjectionHistory['entries'] = [];
  const from = Math.max(p.birthDay + 1, OBJECTIONS_FROM);
  for (const type of ['type1', 'type2'] as const) {
    if (!rng.chance(RATES[type])) continue;
    const last = pop.asOfDay - 1;
    if (from > last) continue;
    // Earlier objections leave room for a withdrawal and a re-registration after them.
    const registered = from + Math.floor((last - from) * rng.next() * rng.next());
    const registerCode =
      type === 'type1'
        ? rng.chance(RATES.type1Snomed)
          ? OBJECTION_CODES.type1Snomed.code
          : OBJECTION_CODES.type1.code
        : OBJECTION_CODES.type2.code;
    entries.push({ type, action: 'register', day: registered, code: registerCode });
    if (registered >= last || !rng.chance(RATES.withdrawn)) continue;
    const withdrawn = registered + 1 + rng.int(last - registered);
    entries.push({
      type,
      action: 'withdraw',
      day: withdrawn,
      code: type === 'type1' ? OBJECTION_CODES.type1Withdrawn.code : OBJECTION_CODES.type2Withdrawn.code,
    });
    if (withdrawn >= last || !rng.chance(RATES.reRegistered)) continue;
    const again = withdrawn + 1 + rng.int(last - withdrawn);
    entries.push({
      type,
      action: 'register',
      day: again,
      code: type === 'type1' ? OBJECTION_CODES.type1.code : OBJECTION_CODES.type2.code,
    });
  }
  return { entries };
}

const OBJECTION_DISPLAY = new Map<string, { system: string; display: string }>(
  Object.values(OBJECTION_CODES).map((c) => [c.code, { system: c.system, display: c.display }]),
);

export function objectionLines(
  pop: Population,
  p: Person,
  history: ObjectionHistory,
  emit: (line: string) => void,
): void {
  for (const entry of history.entries) {
    const c = OBJECTION_DISPLAY.get(entry.code)!;
    emit(
      `{"resourceType":"Observation","id":"${uuid(p.rng)}","status":"final","code":${coding(c.system, entry.code, c.display)},"subject":{"reference":"Patient/${p.id}"},"effectiveDateTime":"${pop.iso(entry.day)}"}`,
    );
  }
}

/** Whether the latest entry of a type is a registration. */
export function isActive(history: ObjectionHistory, type: 'type1' | 'type2'): boolean {
  let active = false;
  for (const e of history.entries) if (e.type === type) active = e.action === 'register';
  return active;
}
