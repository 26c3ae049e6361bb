import { todayInEngland } from '@custodian/core';
import { parseExtractLine } from './fhir';
import { objectionDate } from './objection-date';

/**
 * A practice's "today" is its date in England (an outsider's probe, 2026-12-07): from midnight to
 * 1 am British Summer Time, UTC's date is still yesterday, and an event or an awareness start dated
 * today was refused as "in the future".
 */
describe('today for a practice in England', () => {
  it.each([
    ['2026-06-01T23:30:00Z', '2026-06-02'], // 00:30 BST on 2 June
    ['2026-06-01T22:59:59Z', '2026-06-01'],
    ['2026-12-01T23:30:00Z', '2026-12-01'], // GMT: the same day as UTC
    ['2026-03-29T00:30:00Z', '2026-03-29'], // the night the clocks go forward
    ['2026-10-24T23:30:00Z', '2026-10-25'], // the night they go back (still BST at 23:30Z)
  ])('at %s it is %s', (now, today) => {
    expect(todayInEngland(new Date(now))).toBe(today);
  });

  it('an event dated today in England, uploaded at 00:30 BST, is stored, not refused as in the future', () => {
    const line = JSON.stringify({
      resourceType: 'Condition',
      id: 'c1',
      subject: { reference: 'Patient/p1' },
      code: { coding: [{ system: 'http://snomed.info/sct', code: '22298006' }] },
      recordedDate: '2026-06-02',
    });
    const today = todayInEngland(new Date('2026-06-01T23:30:00Z'));
    expect(parseExtractLine(line, 'A81001', today)).toMatchObject({ kind: 'event', date: '2026-06-02' });
  });
});

describe('a withdrawal dated today in England, received before UTC midnight', () => {
  it('is read at the first instant of that day in England, not refused as in the future (review-21)', () => {
    // 23:30 UTC on 15 June is 00:30 on 16 June in England (British Summer Time).
    const read = objectionDate(
      { resourceType: 'Observation', effectiveDateTime: '2026-06-16' },
      'withdraw',
      '2026-06-15T23:30:00Z',
    );
    expect(read).toMatchObject({ instant: '2026-06-15T23:00:00Z' });
    // Still in the future an hour earlier (22:30 UTC: 23:30 on the 15th in England).
    expect(
      objectionDate(
        { resourceType: 'Observation', effectiveDateTime: '2026-06-16' },
        'withdraw',
        '2026-06-15T22:30:00Z',
      ),
    ).toHaveProperty('error');
  });
});
