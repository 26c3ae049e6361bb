import { awarenessEndsOn, canMove, isRolledOut, ROLLOUT_STATES } from './rollout';

describe('rollout', () => {
  it('allows exactly the transitions of SPEC §2', () => {
    const allowed = ROLLOUT_STATES.flatMap((a) =>
      ROLLOUT_STATES.filter((b) => canMove(a, b)).map((b) => `${a}>${b}`),
    );
    expect(allowed.sort()).toEqual(
      [
        'none>pilot',
        'none>pilot_declined',
        'none>national',
        'pilot_declined>national',
        'pilot>national',
      ].sort(),
    );
  });

  it('accepts extracts only from pilot and national practices', () => {
    expect(ROLLOUT_STATES.filter(isRolledOut)).toEqual(['pilot', 'national']);
  });

  it('ends the awareness period after the configured days', () => {
    expect(awarenessEndsOn('2026-01-31', 28)).toBe('2026-02-28');
    expect(awarenessEndsOn('2024-02-01', 29)).toBe('2024-03-01');
    expect(awarenessEndsOn('2026-03-01', 0)).toBe('2026-03-01');
  });
});
