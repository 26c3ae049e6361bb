import type { DroppedFields } from './fhir-spec';

/** What the practice-side extractor (extractor.ts) did with an export: counts, warnings, lines not written. */
export interface ExtractorReport {
  lines: number;
  /** Lines of nothing but white space (skipped; neither written nor counted as removed). */
  blankLines: number;
  written: number;
  removed: {
    type1Patients: number;
    type1Resources: number;

    malformedLines: number;
    unsupportedResources: number;
    /** Resources without an element FHIR R4 requires that cannot be made up (subject, code, medication). */
    incompleteResources: number;
    /** Resources with an element not of its FHIR R4 type (a dateTime without an offset, …): not written. */
    invalidResources: number;
    /** Clinical resources recorded in error: written marked so, for the centre to remove its copy. */
    enteredInError: number;
    /**
     * Clinical resources of what did not happen (a refuted Condition, a Procedure not done, a
     * medication not taken, a cancelled Observation): written marked so, for the centre to store
     * nothing of them and remove its copy.
     */
    notHappened: number;
    /** Resources written with `status: unknown` (theirs missing or outside the R4 value set). */
    statusUnknown: number;
    fields: number;
    byField: DroppedFields;
  };
  /** Patients marked as sharing sex, DOB and postcode with a Type 1 objector (LINKAGE_KEY_SHARED_URL). */
  patientsSharingKeyWithType1: number;
  /** Objection entries read in an odd way (their date), or not applied (a withdrawal): line and reason. */
  warnings: { line: number; reason: string }[];
  /** Resources not written for FHIR R4 (incomplete or invalid): the first 1000 lines and reasons. */
  rejected: { line: number; reason: string }[];
}

/** The export was not extracted: an objection names no patient that can be found (fail closed). */
export class ExtractRefusedError extends Error {
  constructor(readonly unresolved: { line: number; reason: string }[]) {
    const first = unresolved
      .slice(0, 10)
      .map((u) => `line ${u.line}: ${u.reason}`)
      .join('; ');
    super(
      `the export was not extracted (nothing written): ${unresolved.length} objection(s) cannot be applied (naming no patient that can be found, or coded in a form that cannot be read) — ${first}`,
    );
    this.name = 'ExtractRefusedError';
  }
}
