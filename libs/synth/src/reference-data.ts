/**
 * Reference tables of the synthetic population: postcode areas with their local authority,
 * acute trust and telephone range; the age pyramid; the ethnic mix; clinical code lists.
 * Weights are relative, not percentages.
 */

export const SNOMED = 'http://snomed.info/sct';
export const READ_V2 = 'http://read.info/readv2';
export const NHS_NUMBER_SYSTEM = 'https://fhir.nhs.uk/Id/nhs-number';
export const ODS_SYSTEM = 'https://fhir.nhs.uk/Id/ods-organization-code';
export const ETHNIC_CATEGORY_EXTENSION =
  'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-EthnicCategory';
export const ETHNIC_CATEGORY_SYSTEM = 'https://fhir.hl7.org.uk/CodeSystem/UKCore-EthnicCategoryEngland';
export const UCUM = 'http://unitsofmeasure.org';

export interface Area {
  /** Postcode area (outward code letters). */
  area: string;
  town: string;
  /** District numbers that exist in the area (LS6 → 6). */
  districts: number[];
  /** Upper-tier local authority (social care) of the area. */
  laCode: string;
  /** Acute trust (HES PROCODE) serving the area. */
  provider: string;
  /** Ofcom drama-range telephone prefix (never a real line): three random digits follow. */
  phone: string;
  /** Ethnic-category weights that differ from the England mix. */
  ethnicity?: Partial<Record<EthnicCode, number>>;
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

export const AREAS: Area[] = [
  {
    area: 'LS',
    town: 'Leeds',
    districts: range(1, 29),
    laCode: 'E08000035',
    provider: 'RR8',
    phone: '0113 496 0',
    ethnicity: { A: 72, J: 4, N: 3 },
  },
  {
    area: 'BD',
    town: 'Bradford',
    districts: range(1, 22),
    laCode: 'E08000032',
    provider: 'RAE',
    phone: '01632 960',
    ethnicity: { A: 56, J: 22, K: 2, H: 3 },
  },
  {
    area: 'M',
    town: 'Manchester',
    districts: [...range(1, 9), ...range(11, 23), 40],
    laCode: 'E08000003',
    provider: 'R0A',
    phone: '0161 496 0',
    ethnicity: { A: 52, J: 9, N: 6, C: 8, R: 2 },
  },
  {
    area: 'S',
    town: 'Sheffield',
    districts: [...range(1, 14), 17, 20, 35],
    laCode: 'E08000019',
    provider: 'RHQ',
    phone: '0114 496 0',
    ethnicity: { A: 76, J: 4, N: 2 },
  },
  {
    area: 'NE',
    town: 'Newcastle upon Tyne',
    districts: [...range(1, 13), 15],
    laCode: 'E08000021',
    provider: 'RTD',
    phone: '0191 498 0',
    ethnicity: { A: 80, K: 1.5, R: 1.5 },
  },
  {
    area: 'B',
    town: 'Birmingham',
    districts: range(1, 38),
    laCode: 'E08000025',
    provider: 'RRK',
    phone: '0121 496 0',
    ethnicity: { A: 43, J: 14, H: 6, K: 4, M: 4, N: 4 },
  },
  {
    area: 'L',
    town: 'Liverpool',
    districts: range(1, 25),
    laCode: 'E08000012',
    provider: 'REM',
    phone: '0151 496 0',
    ethnicity: { A: 82, N: 2, R: 1.5 },
  },
  {
    area: 'HX',
    town: 'Halifax',
    districts: range(1, 7),
    laCode: 'E08000033',
    provider: 'RWY',
    phone: '01632 960',
    ethnicity: { A: 82, J: 7 },
  },
  {
    area: 'WF',
    town: 'Wakefield',
    districts: range(1, 17),
    laCode: 'E08000036',
    provider: 'RXF',
    phone: '01632 960',
    ethnicity: { A: 88, C: 3 },
  },
  {
    area: 'HD',
    town: 'Huddersfield',
    districts: range(1, 9),
    laCode: 'E08000034',
    provider: 'RWY',
    phone: '01632 960',
    ethnicity: { A: 74, J: 9, H: 3 },
  },
  {
    area: 'OX',
    town: 'Oxford',
    districts: [1, 2, 3, 4, 5, 14],
    laCode: 'E10000025',
    provider: 'RTH',
    phone: '01632 960',
    ethnicity: { A: 66, C: 11, R: 2, L: 3 },
  },
];

/** Letters allowed in the inward code of a UK postcode (no C, I, K, M, O, V). */
export const INWARD_LETTERS = 'ABDEFGHJLNPQRSTUWXYZ';

/** Share of the population by five-year age band (0-4, 5-9, … 100-104), England-like (2021). */
export const AGE_BANDS = [
  5.4, 5.9, 6.0, 5.6, 6.0, 6.6, 6.9, 6.6, 6.2, 6.3, 6.9, 6.8, 5.9, 5.0, 5.0, 3.6, 2.4, 1.5, 0.7, 0.2, 0.03,
];

/** Probability that a person of a band is female (more women at older ages). */
export function femaleShare(age: number): number {
  if (age < 20) return 0.487;
  if (age < 65) return 0.506;
  if (age < 80) return 0.53;
  if (age < 90) return 0.59;
  return 0.7;
}

export type EthnicCode =
  'A' | 'B' | 'C' | 'D' | 'E' | 'F' | 'G' | 'H' | 'J' | 'K' | 'L' | 'M' | 'N' | 'P' | 'R' | 'S' | 'Z';

/** NHS Data Dictionary ETHNIC CATEGORY (2001 census categories) with an England-like mix. */
export const ETHNIC_CATEGORIES: { code: EthnicCode; display: string; w: number }[] = [
  { code: 'A', display: 'White - British', w: 73.5 },
  { code: 'B', display: 'White - Irish', w: 0.9 },
  { code: 'C', display: 'White - Any other White background', w: 6.2 },
  { code: 'D', display: 'Mixed - White and Black Caribbean', w: 0.9 },
  { code: 'E', display: 'Mixed - White and Black African', w: 0.4 },
  { code: 'F', display: 'Mixed - White and Asian', w: 0.8 },
  { code: 'G', display: 'Mixed - Any other mixed background', w: 0.7 },
  { code: 'H', display: 'Asian or Asian British - Indian', w: 3.1 },
  { code: 'J', display: 'Asian or Asian British - Pakistani', w: 2.7 },
  { code: 'K', display: 'Asian or Asian British - Bangladeshi', w: 1.1 },
  { code: 'L', display: 'Asian or Asian British - Any other Asian background', w: 1.6 },
  { code: 'M', display: 'Black or Black British - Caribbean', w: 1.1 },
  { code: 'N', display: 'Black or Black British - African', w: 2.5 },
  { code: 'P', display: 'Black or Black British - Any other Black background', w: 0.5 },
  { code: 'R', display: 'Other Ethnic Groups - Chinese', w: 0.7 },
  { code: 'S', display: 'Other Ethnic Groups - Any other ethnic group', w: 1.6 },
  { code: 'Z', display: 'Not stated', w: 2.0 },
];

/** Age groups the clinical tables are keyed by. */
export const AGE_GROUPS = [0, 18, 40, 65] as const; // 0-17, 18-39, 40-64, 65+
export function ageGroup(age: number): number {
  return age < 18 ? 0 : age < 40 ? 1 : age < 65 ? 2 : 3;
}

export interface CodeRow {
  code: string;
  display: string;
  /** Read v2 equivalent, used for some events dated before the 2018 switch to SNOMED CT. */
  read?: string;
  /** Weight per age group [0-17, 18-39, 40-64, 65+]. */
  w: [number, number, number, number];
}

export const CONDITIONS: CodeRow[] = [
  { code: '38341003', display: 'Hypertensive disorder', read: 'G20..', w: [0, 2, 14, 22] },
  { code: '44054006', display: 'Diabetes mellitus type 2', read: 'C10F.', w: [0, 1, 8, 10] },
  { code: '46635009', display: 'Diabetes mellitus type 1', read: 'C10E.', w: [1, 1, 0.5, 0.3] },
  { code: '195967001', display: 'Asthma', read: 'H33..', w: [12, 8, 5, 3] },
  { code: '13645005', display: 'Chronic obstructive pulmonary disease', read: 'H3...', w: [0, 0.2, 3, 6] },
  { code: '22298006', display: 'Myocardial infarction', read: 'G30..', w: [0, 0.1, 2, 4] },
  { code: '230690007', display: 'Cerebrovascular accident', read: 'G66..', w: [0, 0.1, 1, 4] },
  { code: '49436004', display: 'Atrial fibrillation', read: 'G573.', w: [0, 0.2, 2, 7] },
  { code: '84114007', display: 'Heart failure', read: 'G58..', w: [0, 0.1, 1, 5] },
  { code: '53741008', display: 'Coronary arteriosclerosis', read: 'G3...', w: [0, 0.1, 3, 6] },
  { code: '35489007', display: 'Depressive disorder', read: 'E2B..', w: [1, 9, 7, 4] },
  { code: '197480006', display: 'Anxiety disorder', read: 'E200.', w: [2, 8, 5, 2] },
  { code: '709044004', display: 'Chronic kidney disease', w: [0, 0.3, 2, 7] },
  { code: '396275006', display: 'Osteoarthritis', read: 'N05..', w: [0, 0.5, 5, 10] },
  { code: '69896004', display: 'Rheumatoid arthritis', read: 'N040.', w: [0, 0.5, 1, 1.5] },
  { code: '40930008', display: 'Hypothyroidism', read: 'C04..', w: [0.2, 2, 3, 4] },
  { code: '52448006', display: 'Dementia', read: 'Eu02.', w: [0, 0, 0.2, 5] },
  { code: '84757009', display: 'Epilepsy', read: 'F25..', w: [1, 1, 0.8, 0.8] },
  { code: '37796009', display: 'Migraine', read: 'F26..', w: [2, 5, 3, 0.5] },
  { code: '68566005', display: 'Urinary tract infectious disease', read: 'K190.', w: [3, 6, 5, 8] },
  { code: '195662009', display: 'Acute viral pharyngitis', read: 'H02..', w: [14, 6, 3, 1] },
  { code: '10509002', display: 'Acute bronchitis', read: 'H06z0', w: [6, 4, 4, 5] },
  { code: '414916001', display: 'Obesity', read: 'C380.', w: [1, 4, 5, 3] },
  { code: '235595009', display: 'Gastroesophageal reflux disease', w: [0.5, 3, 4, 4] },
  { code: '254837009', display: 'Malignant neoplasm of breast', read: 'B34..', w: [0, 0.2, 1.5, 1.5] },
  { code: '254637007', display: 'Non-small cell lung cancer', read: 'B22..', w: [0, 0, 0.5, 1] },
  { code: '24700007', display: 'Multiple sclerosis', w: [0, 0.3, 0.3, 0.1] },
  { code: '43116000', display: 'Eczema', w: [10, 3, 1.5, 1] },
  { code: '65363002', display: 'Otitis media', w: [10, 1, 0.5, 0.3] },
];

export const PROCEDURES: CodeRow[] = [
  { code: '86198006', display: 'Administration of influenza vaccine', w: [4, 2, 6, 14] },
  { code: '171149006', display: 'Screening for malignant neoplasm of cervix', w: [0, 6, 4, 0] },
  { code: '268547008', display: 'Screening for malignant neoplasm of breast', w: [0, 0.5, 5, 2] },
  { code: '399208008', display: 'Plain chest X-ray', w: [1, 2, 3, 5] },
  { code: '73761001', display: 'Colonoscopy', w: [0, 0.5, 2, 3] },
  { code: '80146002', display: 'Excision of appendix', w: [1, 1, 0.3, 0.1] },
  { code: '38102005', display: 'Cholecystectomy', w: [0, 0.8, 1, 0.6] },
  { code: '52734007', display: 'Total replacement of hip', w: [0, 0, 0.5, 2] },
  { code: '609588000', display: 'Total knee replacement', w: [0, 0, 0.5, 2] },
  { code: '110473004', display: 'Cataract surgery', w: [0, 0, 0.4, 3] },
  { code: '232717009', display: 'Coronary artery bypass grafting', w: [0, 0, 0.3, 0.6] },
  { code: '415070008', display: 'Percutaneous coronary intervention', w: [0, 0.05, 0.5, 0.8] },
  { code: '11466000', display: 'Cesarean section', w: [0, 1.5, 0.1, 0] },
  { code: '33879002', display: 'Administration of vaccine to produce active immunity', w: [12, 1, 0.5, 1] },
];

export const MEDICATIONS: CodeRow[] = [
  { code: '387517004', display: 'Paracetamol', w: [10, 6, 6, 8] },
  { code: '387207008', display: 'Ibuprofen', w: [6, 6, 4, 1] },
  { code: '372687004', display: 'Amoxicillin', w: [12, 5, 4, 4] },
  { code: '372567009', display: 'Metformin', w: [0, 1, 6, 7] },
  { code: '386872004', display: 'Ramipril', w: [0, 0.5, 5, 8] },
  { code: '386864001', display: 'Amlodipine', w: [0, 0.5, 5, 8] },
  { code: '373444002', display: 'Atorvastatin', w: [0, 0.5, 7, 10] },
  { code: '387584000', display: 'Simvastatin', w: [0, 0.2, 3, 5] },
  { code: '387458008', display: 'Aspirin', w: [0, 0.3, 3, 7] },
  { code: '372756006', display: 'Warfarin', w: [0, 0.1, 0.8, 3] },
  { code: '372897005', display: 'Salbutamol', w: [8, 5, 4, 4] },
  { code: '387137007', display: 'Omeprazole', w: [0.5, 4, 6, 8] },
  { code: '387494007', display: 'Codeine', w: [0.2, 2, 3, 3] },
  { code: '387475002', display: 'Furosemide', w: [0, 0.1, 1, 5] },
];

/** Observations; `value` draws a result where the observation carries one. */
export interface ObservationRow extends CodeRow {
  unit?: string;
  value?: (age: number, normal: (mean: number, sd: number) => number) => number;
}

const clamp = (v: number, lo: number, hi: number) => (v < lo ? lo : v > hi ? hi : v);
const dp1 = (v: number) => Math.round(v * 10) / 10;

export const OBSERVATIONS: ObservationRow[] = [
  {
    code: '271649006',
    display: 'Systolic blood pressure',
    read: '2469.',
    w: [1, 6, 12, 16],
    unit: 'mm[Hg]',
    value: (a, n) => Math.round(clamp(n(112 + a * 0.35, 14), 80, 220)),
  },
  {
    code: '271650006',
    display: 'Diastolic blood pressure',
    read: '246A.',
    w: [1, 6, 12, 16],
    unit: 'mm[Hg]',
    value: (_a, n) => Math.round(clamp(n(79, 9), 45, 130)),
  },
  {
    code: '60621009',
    display: 'Body mass index',
    read: '22K..',
    w: [2, 5, 6, 5],
    unit: 'kg/m2',
    value: (a, n) => dp1(clamp(n(a < 18 ? 18 + a * 0.2 : 27.5, 4.5), 12, 65)),
  },
  {
    code: '27113001',
    display: 'Body weight',
    read: '22A..',
    w: [6, 5, 6, 5],
    unit: 'kg',
    value: (a, n) => dp1(clamp(a < 16 ? n(3.5 + a * 3.6, 2 + a * 0.6) : n(78, 15), 2, 250)),
  },
  {
    code: '50373000',
    display: 'Body height',
    read: '229..',
    w: [6, 2, 1, 1],
    unit: 'cm',
    value: (a, n) => dp1(clamp(a < 18 ? n(52 + a * 7, 3 + a * 0.4) : n(169, 9), 40, 215)),
  },
  {
    code: '999791000000106',
    display: 'Haemoglobin A1c level - IFCC standardised',
    read: '42W5.',
    w: [0.1, 1, 6, 9],
    unit: 'mmol/mol',
    value: (_a, n) => Math.round(clamp(n(41, 9), 20, 140)),
  },
  {
    code: '1005671000000105',
    display: 'Serum cholesterol level',
    read: '44P..',
    w: [0, 1, 6, 6],
    unit: 'mmol/L',
    value: (_a, n) => dp1(clamp(n(5.1, 1.0), 2, 12)),
  },
  { code: '77176002', display: 'Smoker', read: '137R.', w: [0, 3, 3, 1.5] },
  { code: '8517006', display: 'Ex-smoker', read: '137S.', w: [0, 1.5, 3, 4] },
  { code: '266919005', display: 'Never smoked tobacco', read: '1371.', w: [0.5, 4, 3, 2] },
];

/** The objection codes of SPEC §2 (configuration, one place). */
export const OBJECTION_CODES = {
  type1: {
    system: READ_V2,
    code: '9Nu0',
    display: 'Dissent from secondary use of general practitioner patient identifiable data',
  },
  type1Snomed: {
    system: SNOMED,
    code: '827241000000103',
    display: 'Dissent from secondary use of general practitioner patient identifiable data (finding)',
  },
  type1Withdrawn: {
    system: READ_V2,
    code: '9Nu1',
    display: 'Dissent withdrawn for secondary use of general practitioner patient identifiable data',
  },
  type2: {
    system: READ_V2,
    code: '9Nu4',
    display:
      'Dissent from disclosure of personal confidential data by Health and Social Care Information Centre',
  },
  type2Withdrawn: {
    system: READ_V2,
    code: '9Nu5',
    display:
      'Dissent withdrawn for disclosure of personal confidential data by Health and Social Care Information Centre',
  },
} as const;

/** HES: ICD-10 primary diagnosis (4 characters, no dot), eligibility, and OPCS-4 procedures it may bring. */
export interface HesDiagnosis {
  icd10: string;
  w: number;
  minAge: number;
  maxAge: number;
  sex?: 'female';
  opcs?: string[];
}

export const HES_DIAGNOSES: HesDiagnosis[] = [
  { icd10: 'I639', w: 3, minAge: 45, maxAge: 120, opcs: ['U051'] },
  { icd10: 'I219', w: 3, minAge: 35, maxAge: 120, opcs: ['K491', 'K401', 'K634'] },
  { icd10: 'I500', w: 3, minAge: 55, maxAge: 120 },
  { icd10: 'I480', w: 2, minAge: 45, maxAge: 120, opcs: ['X501'] },
  { icd10: 'J189', w: 5, minAge: 0, maxAge: 120 },
  { icd10: 'J440', w: 3, minAge: 45, maxAge: 120 },
  { icd10: 'J459', w: 2, minAge: 2, maxAge: 120 },
  { icd10: 'E119', w: 2, minAge: 30, maxAge: 120 },
  { icd10: 'N390', w: 4, minAge: 0, maxAge: 120 },
  { icd10: 'K358', w: 2, minAge: 5, maxAge: 70, opcs: ['H011', 'H013'] },
  { icd10: 'K802', w: 2, minAge: 20, maxAge: 100, opcs: ['J183'] },
  { icd10: 'S720', w: 2, minAge: 65, maxAge: 120, opcs: ['W461', 'W191'] },
  { icd10: 'M170', w: 2, minAge: 50, maxAge: 100, opcs: ['W401'] },
  { icd10: 'M161', w: 2, minAge: 50, maxAge: 100, opcs: ['W371'] },
  { icd10: 'H251', w: 3, minAge: 55, maxAge: 110, opcs: ['C751'] },
  { icd10: 'O800', w: 4, minAge: 16, maxAge: 45, sex: 'female', opcs: ['R249'] },
  { icd10: 'O829', w: 1.5, minAge: 16, maxAge: 45, sex: 'female', opcs: ['R179', 'R189'] },
  { icd10: 'C509', w: 1.5, minAge: 30, maxAge: 110, sex: 'female', opcs: ['B281', 'B274'] },
  { icd10: 'C349', w: 1, minAge: 45, maxAge: 110, opcs: ['E541'] },
  { icd10: 'C189', w: 1, minAge: 45, maxAge: 110, opcs: ['H071'] },
  { icd10: 'K625', w: 1.5, minAge: 40, maxAge: 110, opcs: ['H221', 'H251'] },
  { icd10: 'R074', w: 4, minAge: 18, maxAge: 120 },
  { icd10: 'R104', w: 4, minAge: 0, maxAge: 120 },
  { icd10: 'F329', w: 1, minAge: 15, maxAge: 120 },
  { icd10: 'A099', w: 3, minAge: 0, maxAge: 120 },
  { icd10: 'N179', w: 1.5, minAge: 55, maxAge: 120 },
  { icd10: 'G409', w: 1, minAge: 0, maxAge: 120 },
  { icd10: 'K590', w: 1, minAge: 0, maxAge: 120 },
];

/** Social-care service types (no commas: the CSV is unquoted). */
export const SERVICES_CHILD = [
  { name: 'Child in Need', w: 6 },
  { name: 'Child Protection Plan', w: 2 },
  { name: 'Looked After Child', w: 2 },
  { name: 'Short Breaks', w: 1 },
];
export const SERVICES_ADULT = [
  { name: 'Home Care', w: 10 },
  { name: 'Residential Care', w: 4 },
  { name: 'Nursing Care', w: 3 },
  { name: 'Day Care', w: 2 },
  { name: 'Direct Payment', w: 4 },
  { name: 'Reablement', w: 5 },
  { name: 'Supported Living', w: 2 },
  { name: 'Equipment and Adaptations', w: 5 },
  { name: 'Carer Support', w: 2 },
  { name: 'Meals', w: 1 },
];

/** What a practice system holds and the extract must not carry: names, streets, phone numbers. */
export const GIVEN_MALE = [
  'Oliver',
  'George',
  'Harry',
  'Jack',
  'Jacob',
  'Noah',
  'Charlie',
  'Thomas',
  'Oscar',
  'William',
  'James',
  'Muhammad',
  'Daniel',
  'David',
  'John',
  'Michael',
  'Paul',
  'Peter',
  'Robert',
  'Stephen',
  'Mark',
  'Andrew',
  'Richard',
  'Christopher',
  'Ahmed',
  'Imran',
  'Kwame',
  'Tomasz',
  'Wei',
  'Arjun',
];
export const GIVEN_FEMALE = [
  'Olivia',
  'Amelia',
  'Isla',
  'Ava',
  'Emily',
  'Sophie',
  'Grace',
  'Lily',
  'Freya',
  'Mia',
  'Margaret',
  'Susan',
  'Sarah',
  'Elizabeth',
  'Helen',
  'Patricia',
  'Janet',
  'Karen',
  'Claire',
  'Emma',
  'Rebecca',
  'Laura',
  'Fatima',
  'Aisha',
  'Ayesha',
  'Amina',
  'Agnieszka',
  'Priya',
  'Mei',
  'Grace',
];
export const SURNAMES = [
  'Smith',
  'Jones',
  'Taylor',
  'Brown',
  'Williams',
  'Wilson',
  'Johnson',
  'Davies',
  'Robinson',
  'Wright',
  'Thompson',
  'Evans',
  'Walker',
  'White',
  'Roberts',
  'Green',
  'Hall',
  'Wood',
  'Jackson',
  'Clarke',
  'Patel',
  'Khan',
  'Hussain',
  'Ali',
  'Ahmed',
  'Begum',
  'Singh',
  'Shah',
  'Okafor',
  'Mensah',
  'Nowak',
  'Kowalski',
  'Chen',
  'Wang',
  'Murphy',
  "O'Brien",
  'Kelly',
  'Hughes',
  'Edwards',
  'Lewis',
  'Harrison',
  'Turner',
  'Moore',
  'Cooper',
  'Hill',
  'Ward',
  'Morris',
  'King',
  'Baker',
  'Atkinson',
];
export const STREETS = [
  'Church',
  'Station',
  'Victoria',
  'Park',
  'Mill',
  'Manor',
  'Queens',
  'Kings',
  'Chapel',
  'High',
  'Green',
  'Albert',
  'Springfield',
  'Woodland',
  'Grange',
  'Beech',
  'Oak',
  'Elm',
  'Meadow',
  'Moor',
  'Hall',
  'School',
  'Westfield',
  'Highfield',
  'Clarendon',
  'Cardigan',
  'Hyde Park',
  'Headingley',
  'Otley',
  'Harehills',
];
export const STREET_KINDS = [
  'Street',
  'Road',
  'Lane',
  'Avenue',
  'Close',
  'Drive',
  'Grove',
  'Terrace',
  'Crescent',
  'Way',
  'Gardens',
  'Place',
  'Mount',
  'View',
];
export const PRACTICE_KINDS = [
  'Surgery',
  'Medical Centre',
  'Health Centre',
  'Medical Practice',
  'Family Practice',
];
