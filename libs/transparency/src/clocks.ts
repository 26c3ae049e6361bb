import { addWorkingDays, daysBetween, workingDaysBetween } from './working-days';

/**
 * A request's clocks (#24): how long it has been in its current stage and in total, against the
 * published targets. Pure: the history and `now` come in, so tests fix the dates.
 *
 * - Stage: since the latest change into the current state (created, for a draft).
 * - Total: from the first submission until the decision (approved or rejected), else until now.
 * - Targets: `submitted` — screening within N working days of that submission; `in_review` (and
 *   any undecided submitted request, for the total) — a decision within N days of the first
 *   submission. Other stages have no target.
 */
export interface ClockTargets {
  screeningWorkingDays: number;
  decisionDays: number;
}

export interface ClockHistoryEvent {
  at: Date;
  fromState: string | null;
  toState: string | null;
}

export interface TargetView {
  name: 'screening' | 'decision';
  limit: number;
  unit: 'working_days' | 'days';
  due: string;
  overdue: boolean;
}

export interface ClockView {
  state: string;
  stage: { since: string; days: number; workingDays: number; target: TargetView | null };
  total: {
    since: string | null;
    until: string | null;
    days: number;
    workingDays: number;
    target: TargetView | null;
  };
  overdue: boolean;
}

const UNDECIDED = new Set(['submitted', 'returned', 'in_review']);
/**
 * The states in which a request waits on the centre (screening, the panel): only there does a
 * passed target make it `overdue`. A returned request waits on its applicant (probe 38: it read
 * overdue once 60 days had passed since its first submission).
 */
const WAITS_ON_CENTRE = new Set(['submitted', 'in_review']);

export function computeClock(
  bid: { state: string; createdAt: Date },
  events: ClockHistoryEvent[],
  now: Date,
  targets: ClockTargets,
): ClockView {
  const sorted = [...events].sort((a, b) => a.at.getTime() - b.at.getTime());
  const stageSince = [...sorted].reverse().find((e) => e.toState === bid.state)?.at ?? bid.createdAt;
  const firstSubmitted = sorted.find((e) => e.toState === 'submitted')?.at ?? null;
  const decided = sorted.find((e) => e.toState === 'approved' || e.toState === 'rejected')?.at ?? null;

  const decisionTarget = (): TargetView | null => {
    if (!firstSubmitted) return null;
    const due = new Date(firstSubmitted.getTime() + targets.decisionDays * 86_400_000);
    return {
      name: 'decision',
      limit: targets.decisionDays,
      unit: 'days',
      due: due.toISOString(),
      overdue: (decided ?? now).getTime() > due.getTime(),
    };
  };
  let stageTarget: TargetView | null = null;
  if (bid.state === 'submitted') {
    const due = addWorkingDays(stageSince, targets.screeningWorkingDays);
    stageTarget = {
      name: 'screening',
      limit: targets.screeningWorkingDays,
      unit: 'working_days',
      due: due.toISOString(),
      overdue: now.getTime() > due.getTime(),
    };
  } else if (bid.state === 'in_review') stageTarget = decisionTarget();

  const end = decided ?? now;
  const totalTarget = firstSubmitted && (decided || UNDECIDED.has(bid.state)) ? decisionTarget() : null;
  return {
    state: bid.state,
    stage: {
      since: stageSince.toISOString(),
      days: daysBetween(stageSince, now),
      workingDays: workingDaysBetween(stageSince, now),
      target: stageTarget,
    },
    total: {
      since: firstSubmitted?.toISOString() ?? null,
      until: firstSubmitted ? end.toISOString() : null,
      days: firstSubmitted ? daysBetween(firstSubmitted, end) : 0,
      workingDays: firstSubmitted ? workingDaysBetween(firstSubmitted, end) : 0,
      target: totalTarget,
    },
    overdue: !!(stageTarget?.overdue || (totalTarget?.overdue && !decided && WAITS_ON_CENTRE.has(bid.state))),
  };
}
