import fc from 'fast-check';
import { isCalendarDate, isInstant } from './calendar';

describe('calendar dates and instants', () => {
  it('takes a date exactly when the UTC calendar has that day (every day of 1800-2999 and beyond)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10_999 }),
        fc.integer({ min: 0, max: 14 }),
        fc.integer({ min: 0, max: 33 }),
        (y, m, d) => {
          const text = `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
          const t = new Date(`${text}T00:00:00Z`);
          const real = y <= 9999 && !Number.isNaN(t.getTime()) && t.toISOString().slice(0, 10) === text;
          expect(isCalendarDate(text)).toBe(real && y >= 1800 && y <= 2999);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('refuses what the probe sent, and takes what clients send', () => {
    for (const bad of [
      '2015-02-30',
      '2026-02-31',
      '0000-01-01',
      '0001-01-01',
      '9999-12-31',
      '2026-13-01',
      '2026-1-01',
      ' 2026-01-01',
      '2026-01-01\n',
      20260101,
    ])
      expect(isCalendarDate(bad)).toBe(false);
    for (const good of ['2024-02-29', '1800-01-01', '2999-12-31']) expect(isCalendarDate(good)).toBe(true);
    for (const bad of [
      '-004714-01-01T00:00:00Z',
      '-271821-04-20T00:00:00Z',
      '2026-02-30T00:00:00Z',
      '2015-06-01T25:00:00Z',
      '2015-06-01T23:60:00Z',
      '2026-12-07T09:30:60Z',
      '2016-12-31T23:59:60+01:00',
      '2015-06-01T10:00:00+25:00',
      '2015-06-01T10:00:00',
      '1',
      '-1',
      'Sun Dec 06 2026',
    ])
      expect(isInstant(bad)).toBe(false);
    for (const good of [
      '2026-12-06',
      '2026-12-06T10:00Z',
      '2026-12-06T10:00:00.123Z',
      '2026-12-06T23:30:00+14:00',
      '2026-12-06T00:30:00-11:00',
      // RFC 3339 (probe 17): a leap second at 23:59 UTC, and `t`/`z` in lower case
      '2016-12-31T23:59:60Z',
      '2016-12-31T18:59:60-05:00',
      '2026-12-07t09:30:00z',
    ])
      expect(isInstant(good)).toBe(true);
  });
});
