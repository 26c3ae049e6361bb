/**
 * Source row keys in a HES file without a person column (probe 42). Such a file names nobody, so
 * the keys cannot be recomputed per person as `epikeysOf` does for a file with one; its `epikey`s
 * were checked for their shape alone, and a pseudonymised file keyed under another bid's key (row
 * for row joinable with that bid's file, SPEC §5 step 3) verified. Instead, the episodes that may
 * leave of persons drawn from the release's ledger are keyed as the tier keys them, and looked for
 * in the file:
 * - pseudonymised: every one must be there (nothing is suppressed in that tier, and the row recount
 *   holds the file to exactly those persons' rows);
 * - anonymised: k-anonymity and kᵐ-anonymity may take some of them, so at least one must be there
 *   where 20 or more were drawn (each cap is 5 % by default): a file under any other key shows none.
 */
export class EpikeySample {
  private readonly found = new Set<string>();

  constructor(
    private readonly keys: ReadonlySet<string>,
    private readonly every: boolean,
  ) {}

  /** One row's `epikey`, as the file shows it. */
  see(key: string): void {
    if (this.keys.has(key)) this.found.add(key);
  }

  /** What is wrong once the file is read, if anything. */
  problem(): string | undefined {
    const want = this.keys.size;
    const missing = want - this.found.size;
    if (this.every ? missing > 0 : want >= ANONYMISED_MIN_DRAWN && this.found.size === 0)
      return `${missing} of ${want} epikeys of episodes of persons drawn from the release's ledger are not in the file keyed as the tier keys them`;
    return undefined;
  }

  get size(): number {
    return this.keys.size;
  }
}

/** The episodes drawn below which an anonymised file is not held to showing one of them. */
const ANONYMISED_MIN_DRAWN = 20;
