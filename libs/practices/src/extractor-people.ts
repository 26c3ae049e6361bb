import { patientNhsNumbers } from './objection-entry';

type Json = Record<string, unknown>;

/**
 * Who is who: a person is an NHS number; a Patient id with no NHS number is a person of its own.
 * Numbers that one record carries together are one person's, and so are the numbers of every record
 * that shares one of them (a duplicate record of one number, SPEC §2): an objection naming a record's
 * second number left what the centre held under its first, and a duplicate record of the first went
 * out (a review, 2026-12-07).
 */
export class People {
  /** Patient id → its NHS numbers (every Patient record of the export with that id). */
  private readonly nhsOfId = new Map<string, string[]>();
  /** NHS number → the numbers a record carries beside it. */
  private readonly beside = new Map<string, Set<string>>();

  addPatient(r: Json) {
    const numbers = patientNhsNumbers(r);
    for (const n of numbers) {
      const set = this.beside.get(n) ?? new Set<string>();
      for (const m of numbers) if (m !== n) set.add(m);
      this.beside.set(n, set);
    }
    if (typeof r.id !== 'string') return;
    const known = this.nhsOfId.get(r.id) ?? [];
    for (const n of numbers) if (!known.includes(n)) known.push(n);
    this.nhsOfId.set(r.id, known);
  }

  /** The person keys a subject names, every number of the persons it names included. */
  keys(ids: string[], nhsNumbers: string[]): string[] {
    const keys = new Set<string>();
    const numbers: string[] = [...nhsNumbers];
    for (const id of ids) {
      const nhs = this.nhsOfId.get(id);
      if (nhs?.length) numbers.push(...nhs);
      else keys.add(`id:${id}`);
    }
    const seen = new Set<string>();
    while (numbers.length) {
      const n = numbers.pop()!;
      if (seen.has(n)) continue;
      seen.add(n);
      keys.add(`nhs:${n}`);
      for (const m of this.beside.get(n) ?? []) if (!seen.has(m)) numbers.push(m);
    }
    return [...keys];
  }

  keysOfPatient(r: Json): string[] {
    return this.keys(typeof r.id === 'string' ? [r.id] : [], patientNhsNumbers(r));
  }
}
