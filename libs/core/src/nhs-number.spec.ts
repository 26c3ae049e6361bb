import fc from 'fast-check';
import { isValidNhsNumber, normaliseNhsNumber } from './nhs-number';

/** The Modulus 11 definition written out independently, as the data dictionary states it. */
function reference(s: string): boolean {
  if (s.length !== 10 || [...s].some((c) => c < '0' || c > '9')) return false;
  if (new Set(s).size === 1) return false;
  const digits = [...s].map(Number);
  const weighted = digits.slice(0, 9).reduce((acc, d, i) => acc + d * [10, 9, 8, 7, 6, 5, 4, 3, 2][i], 0);
  const remainder = weighted % 11;
  const check = remainder === 0 ? 0 : 11 - remainder;
  if (check === 10) return false;
  return check === digits[9];
}

describe('isValidNhsNumber', () => {
  it.each(['9434765919', '9434765870', '4010232137'])('accepts the valid number %s', (n) => {
    expect(isValidNhsNumber(n)).toBe(true);
  });

  it.each([
    ['9434765918', 'wrong check digit'],
    ['1111111111', 'all digits the same'],
    ['0000000000', 'all zeros'],
    ['943476591', 'nine digits'],
    ['94347659199', 'eleven digits'],
    ['943476591a', 'a letter'],
    ['', 'empty'],
  ])('rejects %s (%s)', (n) => {
    expect(isValidNhsNumber(n)).toBe(false);
  });

  it('rejects a number whose check digit would be 10', () => {
    // 000000001x: sum = 1*2 = 2, 11 - 2 = 9, so craft one with remainder 1 instead: 0000000060 has sum 12 -> 12 mod 11 = 1 -> check 10
    expect(isValidNhsNumber('0000000060')).toBe(false);
    expect(isValidNhsNumber('0000000061')).toBe(false);
  });

  it('rejects anything that is not a string', () => {
    expect(isValidNhsNumber(9434765919)).toBe(false);
    expect(isValidNhsNumber(null)).toBe(false);
  });

  it('agrees with the Modulus 11 definition on random ten-digit strings', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^\d{10}$/), (s) => isValidNhsNumber(s) === reference(s)),
      { numRuns: 20_000 },
    );
  });

  it('agrees with the definition on arbitrary strings', () => {
    fc.assert(fc.property(fc.string({ maxLength: 12 }), (s) => isValidNhsNumber(s) === reference(s)));
  });

  it('normalises spaced input', () => {
    expect(normaliseNhsNumber('943 476 5919')).toBe('9434765919');
    expect(normaliseNhsNumber('943 476 5918')).toBeUndefined();
  });
});
