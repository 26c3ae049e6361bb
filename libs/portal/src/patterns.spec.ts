import { performance } from 'node:perf_hooks';
import { ODS_CODE } from '@custodian/core';
import { normalisePostcode, POSTCODE } from '@custodian/core/postcode';
import { isValidNhsNumber } from '@custodian/core/nhs-number';
import { MAX_FORM_FIELD, PATTERNS } from './patterns';

/**
 * Every pattern the portal and the core validators run on client input, timed on pathological
 * inputs of the longest accepted length: repetitions of each kind of character a pattern treats
 * specially, each followed by a character that makes the match fail at the end (the shape that
 * makes a backtracking pattern quadratic or exponential). Each must take under 50 ms.
 *
 * An input over the bound is timed again, and its best of five counts: a garbage-collection pause
 * or a busy machine (the whole suite runs in parallel) once made a one-line `^\d{1,3}$` take 60 ms,
 * while a backtracking pattern is slow on every try.
 */
const PIECES = ['a', '.', '@', 'a@', '@.', 'a.', ' ', '0', '1-', '-', '/', '\\', 'A1', 'é', '\t', 'a@a.'];
const ENDINGS = ['', '@', '!', ' ', '\n', '..', '@@'];

function* pathological(length: number): Generator<string> {
  for (const piece of PIECES)
    for (const end of ENDINGS) {
      const body = piece.repeat(Math.ceil((length - 2 - end.length) / piece.length));
      yield `a@${body}`.slice(0, length - end.length) + end;
      yield body.slice(0, length - end.length) + end;
      yield `/${body}`.slice(0, length - end.length) + end;
    }
}

function bestOf(tries: number, check: (s: string) => unknown, input: string): number {
  let best = Infinity;
  for (let i = 0; i < tries; i++) {
    const t0 = performance.now();
    check(input);
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

const checks: [string, (s: string) => unknown][] = [
  ...Object.entries(PATTERNS).map(([name, re]): [string, (s: string) => unknown] => [
    name,
    (s) => re.test(s),
  ]),
  ['core ODS_CODE', (s) => ODS_CODE.test(s)],
  ['core POSTCODE', (s) => POSTCODE.test(s)],
  ['core normalisePostcode', (s) => normalisePostcode(s)],
  ['core isValidNhsNumber', (s) => isValidNhsNumber(s)],
];

describe('input patterns run in linear time', () => {
  it.each(checks)(
    '%s: under 50 ms on every pathological input of MAX_FORM_FIELD characters',
    (name, check) => {
      let worst = 0;
      let worstInput = '';
      for (const input of pathological(MAX_FORM_FIELD)) {
        let ms = bestOf(1, check, input);
        if (ms >= 50) ms = bestOf(5, check, input);
        if (ms > worst) [worst, worstInput] = [ms, input];
      }
      expect(
        worst,
        `${name} took ${worst.toFixed(1)} ms on ${JSON.stringify(worstInput.slice(0, 20))}…`,
      ).toBeLessThan(50);
    },
  );

  it('the email pattern accepts ordinary addresses and refuses malformed ones', () => {
    for (const ok of ['a@b.co', 'first.last@example.org', 'x+tag@sub.example.nhs.uk'])
      expect(PATTERNS.email.test(ok)).toBe(true);
    for (const bad of ['a@b', '@b.co', 'a b@c.co', 'a@b..co', 'a@.b.co', 'a@b.co.', 'a@@b.co'])
      expect(PATTERNS.email.test(bad)).toBe(false);
  });

  it('the old email pattern is what this test exists to catch (quadratic on a@ + dots + @)', () => {
    const old = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
    const input = `a@${'.'.repeat(MAX_FORM_FIELD)}@`;
    const t0 = performance.now();
    old.test(input);
    expect(performance.now() - t0).toBeGreaterThan(50);
  });
});
