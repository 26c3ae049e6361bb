import { computeClock } from './clocks';

const d = (s: string) => new Date(s);
const targets = { screeningWorkingDays: 10, decisionDays: 60 };

describe('request clocks', () => {
  const created = d('2026-01-01T10:00:00Z');
  const submitted = { at: d('2026-01-02T09:00:00Z'), fromState: 'draft', toState: 'submitted' };

  it('counts the screening stage in working days and flags it overdue after the tenth', () => {
    const onTime = computeClock(
      { state: 'submitted', createdAt: created },
      [submitted],
      d('2026-01-16T12:00:00Z'),
      targets,
    );
    expect(onTime.stage).toMatchObject({
      days: 14,
      workingDays: 10,
      target: { name: 'screening', overdue: false },
    });
    expect(onTime.overdue).toBe(false);
    const late = computeClock(
      { state: 'submitted', createdAt: created },
      [submitted],
      d('2026-01-19T00:00:01Z'),
      targets,
    );
    expect(late.stage.target).toMatchObject({ due: '2026-01-16T23:59:59.999Z', overdue: true });
    expect(late.overdue).toBe(true);
  });

  it('stops the total clock at the decision, against the decision target', () => {
    const events = [
      submitted,
      { at: d('2026-01-09T09:00:00Z'), fromState: 'submitted', toState: 'in_review' },
      { at: d('2026-03-13T09:00:00Z'), fromState: 'in_review', toState: 'approved' },
    ];
    const c = computeClock(
      { state: 'approved', createdAt: created },
      events,
      d('2026-06-01T00:00:00Z'),
      targets,
    );
    expect(c.total).toMatchObject({
      since: '2026-01-02T09:00:00.000Z',
      until: '2026-03-13T09:00:00.000Z',
      days: 70,
      target: { name: 'decision', overdue: true },
    });
    expect(c.stage.target).toBeNull();
    expect(c.overdue).toBe(false); // decided: nothing is waiting on the centre
  });

  it('has no total before a first submission', () => {
    const c = computeClock({ state: 'draft', createdAt: created }, [], d('2026-01-05T00:00:00Z'), targets);
    expect(c.total).toMatchObject({ since: null, days: 0, target: null });
    expect(c.stage).toMatchObject({ since: created.toISOString(), days: 3, workingDays: 2 });
  });
});
