import { patientNhsNumbers } from './objection-entry';

type Json = Record<string, unknown>;

/**
 * Who is who: a person is an NHS number; a Patient id with no NHS number is a person of its own. The
 * numbers a record carries beside a number named are that person's too (one step, not a chain): an
 * objection naming a record's second number left what the centre held under its first, and a
 * duplicate record of the first went out (review-18); following the numbers on from record to record
 * made unrelated patients objectors through one wrong identifier (review-19).
 */
export class People {
  /** Patient id → its NHS numbers (every Patient record of the export with that id). */
  private readonly nhsOfId = new Map<string, string[]>();
  /** NHS number → the numbers a record carries beside it. */
  private readonly beside = new Map<string, Set<string>>();
  /** The sets of numbers one record carries (two or more). */
  private readonly together: string[][] = [];

  addPatient(r: Json) {
    const numbers = patientNhsNumbers(r);
    if (numbers.length > 1) this.together.push(numbers);
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

  /**
   * The person keys a subject names: the numbers of the records it references and each number it
   * names, each with the numbers a record carries beside it (`widen`; a Patient's own keys are not
   * widened).
   */
  keys(ids: string[], nhsNumbers: string[], widen = true): string[] {
    const keys = new Set<string>();
    const numbers = new Set<string>();
    for (const n of nhsNumbers) {
      numbers.add(n);
      if (widen) for (const m of this.beside.get(n) ?? []) numbers.add(m);
    }
    for (const id of ids) {
      const nhs = this.nhsOfId.get(id);
      if (!nhs?.length) keys.add(`id:${id}`);
      // A record's numbers, and (widened) those another record carries beside one of them: an
      // objection on `Patient/c` (n0) left n1 of a duplicate record [n0, n1] (review-26).
      else
        for (const n of nhs) {
          numbers.add(n);
          if (widen) for (const m of this.beside.get(n) ?? []) numbers.add(m);
        }
    }
    for (const n of numbers) keys.add(`nhs:${n}`);
    return [...keys];
  }

  /**
   * How many persons `keys` are: one where a single record carries every number among them (a
   * record of two numbers is one patient: its withdrawal was "naming two patients", review-19).
   */
  persons(keys: string[]): number {
    const numbers = keys.filter((k) => k.startsWith('nhs:')).map((k) => k.slice(4));
    if (keys.length < 2 || numbers.length < keys.length) return keys.length;
    return this.together.some((t) => numbers.every((n) => t.includes(n))) ? 1 : keys.length;
  }

  keysOfPatient(r: Json): string[] {
    return this.keys(typeof r.id === 'string' ? [r.id] : [], patientNhsNumbers(r), false);
  }
}
