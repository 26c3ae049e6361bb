import { BID_STATES } from '@custodian/bids';
import type { Bid, BidEvent, Release } from './bids-api';

const DAY_MS = 86_400_000;
const plural = (n: number, one: string, many: string) =>
  `${n.toLocaleString('en-GB')} ${n === 1 ? one : many}`;
const humanise = (s: string) => (s.charAt(0).toUpperCase() + s.slice(1)).replace(/_/g, ' ');

/** What reviewers need to know first about a request: who applies (and whether commercial), since when. */
export function applicantFacts<B extends Bid>(bid: B) {
  const submitted = bid.submittedAt ? new Date(bid.submittedAt) : null;
  const daysWaiting = submitted ? Math.max(0, Math.floor((Date.now() - submitted.getTime()) / DAY_MS)) : 0;
  return {
    ...bid,
    organisationName: bid.organisation?.name ?? '',
    organisationKind: bid.organisation?.kind ?? '',
    commercial: bid.organisation?.commercial ?? false,
    daysWaiting,
    daysWaitingText: submitted ? plural(daysWaiting, 'day', 'days') : 'Not submitted',
  };
}

/**
 * The states of a request the panel may have before it (SPEC §1: panel members read bids under
 * review): in review, and the states after the panel's decision. A request returned or withdrawn
 * may or may not have come from review: its history says (`wasInReview`).
 */
export const PANEL_STATES: readonly string[] = [
  'in_review',
  'approved',
  'rejected',
  'returned',
  'active',
  'expired',
  'revoked',
  'closed',
  'withdrawn',
];
/** States that only a request the panel reviewed can be in. */
const AFTER_REVIEW = new Set(['in_review', 'approved', 'rejected', 'active', 'expired', 'revoked', 'closed']);

/**
 * Whether a request is before the panel, as the API's `REVIEWED_BID_SQL` decides: in review or a
 * state only a review reaches; returned or withdrawn when it came to that state from review (its
 * history says). Never one waiting for screening, even after an earlier review.
 */
export function wasInReview(bid: { state: string }, events?: BidEvent[]): boolean {
  if (AFTER_REVIEW.has(bid.state)) return true;
  if (bid.state !== 'returned' && bid.state !== 'withdrawn') return false;
  const into = (events ?? []).filter((e) => e.toState === bid.state);
  const latest = into.reduce<BidEvent | undefined>(
    (a, e) => (!a || e.at > a.at || (e.at === a.at && Number(e.id) > Number(a.id)) ? e : a),
    undefined,
  );
  return latest?.fromState === 'in_review';
}

/** The list filter by state (decided requests stay findable); `all` is every state the caller may see. */
export function stateFilter(
  value: string | undefined,
  fallback: string,
  offered: readonly string[] = BID_STATES.filter((s) => s !== 'draft'),
) {
  const states = offered;
  const chosen = value === 'all' || (value && states.includes(value)) ? value : fallback;
  return {
    value: chosen,
    state: chosen === 'all' ? undefined : chosen,
    items: [
      ...states.map((s) => ({ value: s, text: humanise(s), selected: s === chosen })),
      { value: 'all', text: 'Every state', selected: chosen === 'all' },
    ],
  };
}

/** The release officer's notes for the panel, from the latest screening (reviewers only: the API hides them from applicants). */
export function screeningNotes(events: BidEvent[]) {
  const e = events
    .filter((x) => x.action === 'screen_accept' && (x as { internalNotes?: string | null }).internalNotes)
    .at(-1) as (BidEvent & { internalNotes?: string | null }) | undefined;
  return e ? { text: e.internalNotes!, at: e.at } : undefined;
}

/**
 * The signed-in member's own vote in the latest review round, if they have voted (reviewers read
 * each vote's actor): the page shows it instead of the form, which the API would refuse (409).
 */
export function myVote(
  events: BidEvent[],
  me: string | undefined,
): { decision: string; at: string } | undefined {
  if (!me) return undefined;
  // The round in progress began with the latest screening into review: votes before it are of an
  // earlier round (a bid returned by the panel and resubmitted is voted on again).
  const from = events.map((e) => e.action).lastIndexOf('screen_accept');
  const mine = events
    .slice(from + 1)
    .filter((e) => (e.action === 'vote' || e.action === 'vote_recused') && e.actorId === me)
    .at(-1);
  return mine && { decision: humanise(String(mine.details?.decision ?? '')), at: mine.at };
}

/**
 * The panel's record of the latest review round, from the bid's history (GET /api/bids/:id/events,
 * which gives reviewers the individual votes): votes counted, recusals, declared conflicts,
 * conditions, the outcome. Members are numbered in voting order, never named.
 */
export function panelRecord(bid: Bid, events: BidEvent[]) {
  const isVote = (e: BidEvent) => e.action === 'vote' || e.action === 'vote_recused';
  const roundOf = (e: BidEvent) => Number(e.details?.round ?? 0);
  // The round in progress began at the last screening into review: votes before it are an earlier
  // round's, which a new round (after a return and resubmission) must not show as its own.
  const from = events.map((e) => e.action).lastIndexOf('screen_accept');
  const current = events.slice(from + 1).filter(isVote);
  const earlier = Math.max(0, ...events.slice(0, Math.max(0, from)).filter(isVote).map(roundOf));
  const round = current.length ? Math.max(...current.map(roundOf)) : from >= 0 ? earlier + 1 : earlier;
  const rows = current.map((v, i) => {
    const d = v.details ?? {};
    const recused = d.recused === true || v.action === 'vote_recused';
    return {
      member: `Member ${i + 1}`,
      at: v.at,
      decision: humanise(String(d.decision ?? '')),
      tier: typeof d.tier === 'string' ? humanise(d.tier) : '',
      conflict: d.conflictOfInterest === true,
      recused,
      conditions: Array.isArray(d.conditions) ? (d.conditions as string[]) : [],
    };
  });
  const decision = events
    .slice(from + 1)
    .filter((e) => e.action.startsWith('decide_'))
    .at(-1);
  return {
    round,
    votes: rows,
    counted: rows.filter((r) => !r.recused).length,
    recused: rows.filter((r) => r.recused).length,
    conflicts: rows.filter((r) => r.conflict).length,
    decided: bid.state !== 'in_review' && !!decision,
    outcome: decision ? humanise(String(decision.toState ?? '')) : null,
    decidedAt: decision?.at ?? null,
    conditions: bid.conditions ?? [],
  };
}

const PHASE_TEXT: Record<string, string> = {
  queued: 'Waiting for a worker',
  preparing: 'Preparing: choosing the cohort, applying objections',
  writing: 'Writing the files',
  verifying: 'Checking the files against the rules, independently',
  completed: 'Complete',
  failed: 'Failed',
};

function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return plural(s, 'second', 'seconds');
  const m = Math.floor(s / 60);
  if (m < 60) return `${plural(m, 'minute', 'minutes')} ${plural(s % 60, 'second', 'seconds')}`;
  return `${plural(Math.floor(m / 60), 'hour', 'hours')} ${plural(m % 60, 'minute', 'minutes')}`;
}

/** A running release's progress: rows written of those expected, the phase, the time it has taken. */
export function progressOf(r: Release) {
  const p = typeof r.progress === 'object' && r.progress ? r.progress : {};
  const done = Number(p.rowsDone ?? 0);
  const expected = Number(p.rowsEstimated ?? 0);
  const phase = r.phase ?? r.state;
  const from = r.startedAt ?? r.createdAt;
  const to = r.completedAt ?? (['completed', 'failed'].includes(r.state) ? null : new Date().toISOString());
  return {
    done,
    expected,
    max: Math.max(expected, done, 1),
    value: expected ? Math.min(done, expected) : r.state === 'completed' ? 1 : 0,
    known: expected > 0 || r.state === 'completed',
    text: expected
      ? `${done.toLocaleString('en-GB')} of ${expected.toLocaleString('en-GB')} rows written`
      : r.state === 'completed'
        ? `${done.toLocaleString('en-GB')} rows written`
        : 'Not counted yet',
    phase,
    phaseText: PHASE_TEXT[phase] ?? humanise(phase),
    elapsed: from && to ? duration(new Date(to).getTime() - new Date(from).getTime()) : null,
  };
}

/** Why people were left out, in the words people use, with what it means. */
const REASONS: Record<string, { title: string; why: string }> = {
  type1_objection: {
    title: 'Patients with a Type 1 objection',
    why: 'They asked for their GP data never to leave their practice; their hospital and social-care records are left out of every release too.',
  },
  type2_objection: {
    title: 'Patients with a Type 2 objection',
    why: 'They asked for their data not to leave the data centre.',
  },
  not_in_consent_cohort: {
    title: 'Patients not in the consenting cohort',
    why: 'A request under consent receives only the people who consented.',
  },
  row_nhs_number_objection: {
    title: 'Records carrying the NHS number of someone who objected',
    why: 'Hospital or social-care records not linked to a patient, whose NHS number belongs to a person with an objection.',
  },
  no_nhs_number_unlinked: {
    title: 'Records without an NHS number that could not be linked',
    why: 'Nobody can check whether the person objected, so the record is left out.',
  },
};
const ROW_WORDS: Record<string, [string, string]> = {
  gp: ['GP record', 'GP records'],
  hes: ['hospital episode', 'hospital episodes'],
  social_care: ['social-care record', 'social-care records'],
};

export interface ExclusionLine {
  title: string;
  text: string;
  why: string;
}

/**
 * The release's exclusion report (`excluded`, exact figures: the API gives it to staff only) as
 * lines, persons and rows kept apart: "Patients with a Type 2 objection: 10 people, 116 GP records".
 */
export function exclusionReport(r: Release, legalBasis?: string): ExclusionLine[] {
  const aggregate = r.tier === 'aggregate';
  const x = (r.excluded ?? {}) as {
    persons?: Record<string, number>;
    rows?: Record<string, Record<string, number>>;
    type2ObjectorsIncluded?: number;
    kAnonymity?: { suppressed?: number };
  };
  const persons = x.persons ?? {};
  const rows = x.rows ?? {};
  const reasons = new Set([
    ...Object.keys(persons),
    ...Object.values(rows).flatMap((d) => Object.keys(d ?? {})),
  ]);
  const lines: ExclusionLine[] = [];
  for (const reason of reasons) {
    const words = REASONS[reason] ?? { title: humanise(reason), why: '' };
    const parts: string[] = [];
    if (persons[reason] !== undefined) parts.push(plural(Number(persons[reason]), 'person', 'people'));
    for (const [d, byReason] of Object.entries(rows)) {
      const n = byReason?.[reason];
      if (n === undefined) continue;
      const [one, many] = ROW_WORDS[d] ?? [`${d} row`, `${d} rows`];
      parts.push(plural(Number(n), one, many));
    }
    lines.push({ title: words.title, text: `${words.title}: ${parts.join(', ') || 'none'}`, why: words.why });
  }
  const suppressed = Number(x.kAnonymity?.suppressed ?? 0);
  if (x.kAnonymity)
    lines.push({
      title: 'Patients suppressed for k-anonymity',
      text: `Patients suppressed for k-anonymity: ${plural(suppressed, 'person', 'people')}`,
      why: 'Left out so that everyone in the files looks like at least k−1 other people in the same file.',
    });
  const included = Number(x.type2ObjectorsIncluded ?? 0);
  if (included > 0)
    lines.push({
      title: 'Patients with a Type 2 objection who are included',
      text: `Patients with a Type 2 objection who are included: ${plural(included, 'person', 'people')}`,
      why: aggregate
        ? 'Aggregate counts after disclosure control identify no one, so a Type 2 objection does not remove a person from them (SPEC §5); Type 1 objectors are counted nowhere.'
        : legalBasis === 'consent'
          ? 'They are in the consenting cohort: their consent overrides the objection.'
          : 'The legal basis sets objections aside; the public register says so, and why.',
    });
  return lines;
}

/**
 * A release's failure in words: the reason without its code (`AGG_POPULATION_TOO_SMALL: the
 * cohort …` reads "The cohort …"), the code kept apart as a reference for the service desk.
 */
export function failureOf(reason: string | undefined): { text: string; code?: string } | undefined {
  if (!reason) return undefined;
  const m = /^([A-Z][A-Z0-9_]+):\s*([\s\S]*)$/.exec(reason);
  if (!m) return { text: reason };
  const text = m[2].trim();
  return { text: text ? text[0].toUpperCase() + text.slice(1) : 'No reason was recorded.', code: m[1] };
}
