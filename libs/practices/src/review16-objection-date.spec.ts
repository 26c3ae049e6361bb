import { objectionDate } from './objection-date';

/**
 * Review 16: a withdrawal without an offset is read at the first instant England's clocks showed it
 * (objection-date.ts englandWallClock), which tries only "an hour earlier". In British Double Summer
 * Time (1941–45, 1947: UTC+2) England's midnight was 22:00Z the day before; the withdrawal is read
 * at 00:00Z, two hours after its first instant, and lifts a registration made at 00:30 BDST that day
 * (22:30Z) that it may have preceded. Dates from 1895 are accepted (EARLIEST_DATE).
 */
const R = '2026-12-07T10:00:00Z';
const obs = (v: string) => ({ resourceType: 'Observation', effectiveDateTime: v });
const at = (v: string, action: 'register' | 'withdraw') => {
  const d = objectionDate(obs(v), action, R);
  return 'error' in d ? d.error : d.instant;
};

describe('review-16: withdrawals in British Double Summer Time', () => {
  it("D1: a withdrawal dated 1944-06-01 is read no later than England's midnight (22:00Z the day before)", () => {
    expect(at('1944-06-01', 'withdraw') <= '1944-05-31T22:00:00Z').toBe(true);
  });
  it('D1: a registration at 00:30 BDST that day is not lifted by it', () => {
    const reg = at('1944-06-01T00:30:00+02:00', 'register');
    const w = at('1944-06-01', 'withdraw');
    expect(w < reg).toBe(true);
  });
});
