import fc from 'fast-check';
import { addWorkingDays, daysBetween, workingDaysBetween } from './working-days';

const d = (s: string) => new Date(s);

describe('working days (Mon-Fri, UTC)', () => {
  it('counts weekdays after the start date up to the end date', () => {
    // 2026-01-02 is a Friday.
    expect(workingDaysBetween(d('2026-01-02T09:00:00Z'), d('2026-01-02T17:00:00Z'))).toBe(0);
    expect(workingDaysBetween(d('2026-01-02T09:00:00Z'), d('2026-01-05T08:00:00Z'))).toBe(1);
    expect(workingDaysBetween(d('2026-01-02T09:00:00Z'), d('2026-01-16T08:00:00Z'))).toBe(10);
    expect(workingDaysBetween(d('2026-01-03T09:00:00Z'), d('2026-01-04T08:00:00Z'))).toBe(0);
  });

  it('puts the tenth working day after a Friday on the Friday two weeks later', () => {
    expect(addWorkingDays(d('2026-01-02T09:00:00Z'), 10).toISOString()).toBe('2026-01-16T23:59:59.999Z');
  });

  it('agrees with a day-by-day count', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 20000 }), fc.integer({ min: 0, max: 400 }), (start, span) => {
        const from = new Date(start * 86_400_000 + 3_600_000);
        const to = new Date((start + span) * 86_400_000 + 7_200_000);
        let n = 0;
        for (let k = 1; k <= span; k++) {
          const wd = new Date((start + k) * 86_400_000).getUTCDay();
          if (wd !== 0 && wd !== 6) n++;
        }
        expect(workingDaysBetween(from, to)).toBe(n);
        expect(daysBetween(from, to)).toBe(span);
        if (n > 0) expect(workingDaysBetween(from, addWorkingDays(from, n))).toBe(n);
      }),
    );
  });
});
