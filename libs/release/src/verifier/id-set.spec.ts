import fc from 'fast-check';
import { IdSet } from './id-set';

describe('verifier: IdSet', () => {
  it('answers exactly as a Set of the same identifiers (hex tokens, NHS numbers, any text)', () => {
    const id = fc.oneof(
      fc.stringMatching(/^[0-9a-f]{32}$/),
      fc.stringMatching(/^[0-9a-f]{64}$/),
      fc.stringMatching(/^\d{10}$/),
      fc.string(),
    );
    fc.assert(
      fc.property(fc.array(id, { maxLength: 300 }), fc.array(id, { maxLength: 300 }), (members, others) => {
        const set = new IdSet(members);
        const plain = new Set(members);
        expect(set.size).toBe(plain.size);
        for (const x of [...members, ...others]) expect(set.has(x)).toBe(plain.has(x));
        // A slice of a longer string (as the CSV reader hands them over) is found too.
        for (const x of members) expect(set.has(`,${x},`.slice(1, -1))).toBe(true);
      }),
    );
  });
});
