/**
 * Row order within a person in an anonymised file with a person column (SPEC §5 step 5 "rows carry
 * no person grouping by their order"; probe 27). The engine lists a person's rows in a keyed random
 * order (`row-order.ts`, `withinPerson`), not by date: in date order the rows would give back which
 * of a person's events came first where kᵐ-anonymity took the periods to a year or `*`.
 *
 * The verifier cannot see the hidden dates, nor recompute the keyed order (the file has no row ids).
 * It reads what the file shows: each visible period of a person (not `*` or empty) is compared with
 * the person's last visible one; a year and a month of it (one a prefix of the other), or the same
 * period, compare as neither. A person votes the sign of its rises minus falls (0: no vote).
 *
 * - A random order within a person: each vote is symmetric around 0 (the reversed order is as likely
 *   and swaps rises and falls) and persons are independent, so with P votes cast Hoeffding gives
 *   P(|Σ votes| ≥ 6√P + 10) ≤ 2·e⁻¹⁸ (~3·10⁻⁸): a valid release is not failed by chance. One vote
 *   per person, not one per pair of rows: a person with many rows weighs no more than one vote.
 * - Rows in date order (or its reverse): every visible period is at or after (before) the one
 *   before it (generalising keeps the order), so every person with two comparable periods votes +1
 *   (−1): flagged from about 55 of them.
 *
 * What it cannot see: persons whose periods are all `*` (as in probe 27, where the engine's order is
 * the only guard), and fewer than ~55 persons with comparable periods.
 */
export class PersonDateOrder {
  private prev = Buffer.alloc(16);
  /** Length of the person's last visible period in `prev`; -1: none yet. */
  private prevLength = -1;
  private score = 0;
  private votes = 0;
  private sum = 0;

  private readonly text = Buffer.alloc(16);

  /** The first row of a person, with its period (text of the file). */
  first(period: string): void {
    this.close();
    this.next(period);
  }

  /** A further row of the same person. */
  next(period: string): void {
    if (period.length <= this.text.length) this.period(this.text, 0, this.text.write(period, 'latin1'));
  }

  /** A further row of the same person, its period as bytes `buf[from, to)` (no string made). */
  nextBytes(buf: Uint8Array, from: number, to: number): void {
    this.period(buf, from, to);
  }

  private period(buf: Uint8Array, from: number, to: number): void {
    const n = to - from;
    if (n === 0 || (n === 1 && buf[from] === 0x2a) || n > this.prev.length) return;
    if (this.prevLength >= 0) {
      const common = Math.min(n, this.prevLength);
      for (let j = 0; j < common; j++)
        if (buf[from + j] !== this.prev[j]) {
          this.score += buf[from + j] > this.prev[j] ? 1 : -1;
          break;
        }
    }
    for (let j = 0; j < n; j++) this.prev[j] = buf[from + j];
    this.prevLength = n;
  }

  private close(): void {
    if (this.score !== 0) {
      this.votes++;
      this.sum += Math.sign(this.score);
    }
    this.score = 0;
    this.prevLength = -1;
  }

  /** The votes cast and their sum, the persons so far (closes the person being read). */
  counts(): { votes: number; sum: number } {
    this.close();
    return { votes: this.votes, sum: this.sum };
  }

  /** What is wrong, if anything (call once the file is read). */
  problem(): string | undefined {
    this.close();
    if (this.votes > 0 && Math.abs(this.sum) > 6 * Math.sqrt(this.votes) + 10) {
      const up = (this.votes + this.sum) / 2;
      return `within a person the shown event periods rise from row to row for ${up} persons and fall for ${this.votes - up}: the rows follow the event dates`;
    }
    return undefined;
  }
}
