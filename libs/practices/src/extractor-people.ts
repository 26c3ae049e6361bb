import { patientNhsNumbers } from './objection-entry';

type Json = Record<string, unknown>;

/** Who is who: a person is an NHS number; a Patient id with no NHS number is a person of its own. */
export class People {
  /** Patient id → its NHS numbers (every Patient record of the export with that id). */
  private readonly nhsOfId = new Map<string, string[]>();

  addPatient(r: Json) {
    if (typeof r.id !== 'string') return;
    const known = this.nhsOfId.get(r.id) ?? [];
    for (const n of patientNhsNumbers(r)) if (!known.includes(n)) known.push(n);
    this.nhsOfId.set(r.id, known);
  }

  /** The person keys a subject names. */
  keys(ids: string[], nhsNumbers: string[]): string[] {
    const keys = new Set<string>();
    for (const id of ids) {
      const nhs = this.nhsOfId.get(id);
      if (nhs?.length) for (const n of nhs) keys.add(`nhs:${n}`);
      else keys.add(`id:${id}`);
    }
    for (const n of nhsNumbers) keys.add(`nhs:${n}`);
    return [...keys];
  }

  keysOfPatient(r: Json): string[] {
    const keys = new Set(this.keys(typeof r.id === 'string' ? [r.id] : [], []));
    for (const n of patientNhsNumbers(r)) keys.add(`nhs:${n}`);
    return [...keys];
  }
}
