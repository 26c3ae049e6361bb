/** Rollout states of a practice and the transitions an admin may make (SPEC §2). State machine as data. */
export const ROLLOUT_STATES = ['none', 'pilot', 'pilot_declined', 'national'] as const;
export type Rollout = (typeof ROLLOUT_STATES)[number];

export const ROLLOUT_TRANSITIONS: Readonly<Record<Rollout, readonly Rollout[]>> = {
  none: ['pilot', 'pilot_declined', 'national'],
  pilot_declined: ['national'],
  pilot: ['national'],
  national: [],
};

export const canMove = (from: Rollout, to: Rollout) => ROLLOUT_TRANSITIONS[from].includes(to);

/** States from which a practice's extracts are accepted (after the awareness period). */
export const isRolledOut = (r: Rollout) => r === 'pilot' || r === 'national';

/** The first day extracts are accepted: awareness start + the awareness period. */
export function awarenessEndsOn(startedOn: string, days: number): string {
  const d = new Date(`${startedOn}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}
