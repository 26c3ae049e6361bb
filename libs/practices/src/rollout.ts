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

/**
 * The earliest awareness start an admin may record. Not SPEC §2's 1895-01-01 (the earliest date of
 * a record: a birth), which names no campaign: a practice telling its patients that their record
 * will be extracted to the centre is a campaign of this programme, and no such campaign predates
 * 2000 (the programme the service models began in 2013–14). A round bound well before any real
 * start, so that a typo (`1800-01-01`, `0201-06-01`) cannot open a practice's extracts at once.
 */
export const AWARENESS_EARLIEST = '2000-01-01';

/** The first day extracts are accepted: awareness start + the awareness period. */
export function awarenessEndsOn(startedOn: string, days: number): string {
  const d = new Date(`${startedOn}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}
