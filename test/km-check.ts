/**
 * The tests' own kᵐ-anonymity check of released files (independent of the engine and of the
 * verifier): persons are joined across files by `person_token`; a person's demographic class is
 * the quasi-identifier columns the files show of them (other than as `*`); their items are the (dataset, event columns)
 * of their rows. Every set of at most m items a person carries must be carried by at least k
 * persons of their class.
 */
export const ITEM_COLUMNS: Record<string, string[]> = {
  gp: ['event_type', 'code_system', 'code', 'event_date'],
  hes: ['admission_date', 'diagnosis_icd10', 'procedure_opcs4', 'provider_code'],
  social_care: ['la_code', 'service_type', 'start_date', 'end_date'],
};
const QI = ['age_band', 'area', 'sex', 'ethnicity'];

export interface KmFinding {
  /** Persons with at least one item set of size ≤ m carried by fewer than k persons of their class. */
  exposed: number;
  /** Persons with at least one item. */
  persons: number;
  /** Persons whose single rarest item is carried by nobody else of their class. */
  uniqueOnOneItem: number;
}

export function kmFinding(
  files: Record<string, { header: string[]; rows: Record<string, string>[] }>,
  k: number,
  m: number,
): KmFinding {
  const people = new Map<string, { qi: Map<string, string>; items: Set<string> }>();
  for (const [dataset, file] of Object.entries(files)) {
    const cols = ITEM_COLUMNS[dataset].filter((c) => file.header.includes(c));
    for (const r of file.rows) {
      const p = people.get(r.person_token) ?? { qi: new Map(), items: new Set() };
      people.set(r.person_token, p);
      // `*` says no more than a column not shown: neither is part of the class.
      for (const q of QI) if (q in r && r[q] !== '*') p.qi.set(q, r[q]);
      p.items.add([dataset, ...cols.map((c) => r[c])].join('|'));
    }
  }
  const classOf = (p: { qi: Map<string, string> }) =>
    [...p.qi.entries()]
      .sort()
      .map(([c, v]) => `${c}=${v}`)
      .join(';');
  const subsets = (items: string[], size: number): string[][] => {
    if (size === 0) return [[]];
    const out: string[][] = [];
    items.forEach((it, i) => {
      for (const rest of subsets(items.slice(i + 1), size - 1)) out.push([it, ...rest]);
    });
    return out;
  };
  const support = new Map<string, number>();
  const setsOf = (p: { qi: Map<string, string>; items: Set<string> }) => {
    const items = [...p.items].sort();
    const out: string[] = [];
    for (let s = 1; s <= Math.min(m, items.length); s++)
      for (const set of subsets(items, s)) out.push(`${classOf(p)}#${set.join('#')}`);
    return out;
  };
  for (const p of people.values()) for (const key of setsOf(p)) support.set(key, (support.get(key) ?? 0) + 1);
  let exposed = 0;
  let uniqueOnOneItem = 0;
  let persons = 0;
  for (const p of people.values()) {
    if (p.items.size === 0) continue;
    persons++;
    const keys = setsOf(p);
    if (keys.some((key) => support.get(key)! < k)) exposed++;
    if ([...p.items].some((it) => support.get(`${classOf(p)}#${it}`) === 1)) uniqueOnOneItem++;
  }
  return { exposed, persons, uniqueOnOneItem };
}
