/**
 * What identity needs of the practices (practices'): whether an ODS code names a practice the
 * centre knows, so that the API binds no practice account to a practice that does not exist (a
 * probe bound one to "Z99999", which could then register objections). Practices provides it
 * (`PRACTICE_DIRECTORY`), so the import arrow runs one way: practices → identity.
 */
export interface PracticeDirectory {
  practiceExists(odsCode: string): Promise<boolean>;
}
export const PRACTICE_DIRECTORY = Symbol('PRACTICE_DIRECTORY');
