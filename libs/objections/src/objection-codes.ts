/**
 * The objection code table of SPEC §2: configuration, not scattered literals. A coded entry
 * (an Observation) carrying one of these codes in a practice's record is an objection event.
 * Read v2 codes are compared without their trailing '.' padding (`9Nu0.` = `9Nu0`).
 */
export const SNOMED_SYSTEM = 'http://snomed.info/sct';
export const READV2_SYSTEM = 'http://read.info/readv2';

export type ObjectionType = 'type1' | 'type2';
export type ObjectionAction = 'register' | 'withdraw';

export interface ObjectionCode {
  system: typeof SNOMED_SYSTEM | typeof READV2_SYSTEM;
  code: string;
  type: ObjectionType;
  action: ObjectionAction;
  meaning: string;
}

export const OBJECTION_CODES: readonly ObjectionCode[] = [
  { system: READV2_SYSTEM, code: '9Nu0', type: 'type1', action: 'register', meaning: 'Type 1 objection' },
  { system: READV2_SYSTEM, code: '9Nu1', type: 'type1', action: 'withdraw', meaning: 'Type 1 withdrawn' },
  { system: READV2_SYSTEM, code: '9Nu4', type: 'type2', action: 'register', meaning: 'Type 2 objection' },
  { system: READV2_SYSTEM, code: '9Nu5', type: 'type2', action: 'withdraw', meaning: 'Type 2 withdrawn' },
  {
    system: SNOMED_SYSTEM,
    code: '827241000000103',
    type: 'type1',
    action: 'register',
    meaning: 'Type 1 objection',
  },
];

const normalise = (system: string, code: string) =>
  `${system}|${system === READV2_SYSTEM ? code.replace(/\.+$/, '') : code}`;
const BY_KEY = new Map(OBJECTION_CODES.map((c) => [normalise(c.system, c.code), c]));

/** The objection meaning of a coding, or undefined when it is not an objection code. */
export function objectionFor(system: string, code: string): ObjectionCode | undefined {
  return BY_KEY.get(normalise(system, code));
}
