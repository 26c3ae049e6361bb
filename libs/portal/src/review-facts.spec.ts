import { releasePhase } from '@custodian/release';
import type { Release } from './bids-api';
import { exclusionReport, myVote, panelRecord, progressOf, stateFilter } from './review-facts';
import { apiErrorsToFields } from './request-form';
import { formErrors } from './form';

const release = (over: Partial<Release>): Release => ({
  id: 'r',
  state: 'completed',
  progress: { rowsDone: 0, rowsEstimated: 0 },
  tier: 'pseudonymised',
  files: [],
  ...over,
});

describe('the exclusion report in words', () => {
  it('keeps persons and rows apart, per dataset, each line explained', () => {
    const lines = exclusionReport(
      release({
        excluded: {
          persons: { type2_objection: 10, not_in_consent_cohort: 1 },
          rows: { gp: { type2_objection: 116, not_in_consent_cohort: 3 }, hes: { type2_objection: 4 } },
          type2ObjectorsIncluded: 0,
        },
      }),
    );
    expect(lines.map((l) => l.text)).toEqual([
      'Patients with a Type 2 objection: 10 people, 116 GP records, 4 hospital episodes',
      'Patients not in the consenting cohort: 1 person, 3 GP records',
    ]);
    expect(lines.every((l) => l.why.length > 0)).toBe(true);
  });

  it('says why objectors are included under consent or a statutory basis, and counts k-anonymity suppression', () => {
    const r = release({
      excluded: { persons: {}, rows: {}, type2ObjectorsIncluded: 2, kAnonymity: { suppressed: 7 } },
    });
    expect(exclusionReport(r, 'consent').map((l) => l.text)).toEqual([
      'Patients suppressed for k-anonymity: 7 people',
      'Patients with a Type 2 objection who are included: 2 people',
    ]);
    expect(exclusionReport(r, 'consent')[1]!.why).toMatch(/consent overrides/);
    expect(exclusionReport(r, 'statutory')[1]!.why).toMatch(/sets objections aside/);
    expect(exclusionReport(release({}))).toEqual([]);
    // The aggregate tier counts Type 2 objectors whatever the legal basis (SPEC §5): the basis is
    // not why (a walk-through, 2026-12-06: "The legal basis sets objections aside" under basis none).
    const agg = release({
      tier: 'aggregate',
      excluded: { persons: {}, rows: {}, type2ObjectorsIncluded: 12 },
    });
    expect(exclusionReport(agg, 'none')[0]!.why).toMatch(
      /^Aggregate counts after disclosure control identify no one/,
    );
  });
});

describe('release progress', () => {
  it('derives the phase from the state and the counts', () => {
    expect(releasePhase('queued', 0, 0)).toBe('queued');
    expect(releasePhase('running', 0, 0)).toBe('preparing');
    expect(releasePhase('running', 5, 10)).toBe('writing');
    expect(releasePhase('running', 10, 10)).toBe('verifying');
    expect(releasePhase('failed', 3, 10)).toBe('failed');
  });

  it('shows rows written of those expected, and the time taken', () => {
    const p = progressOf(
      release({
        state: 'running',
        phase: 'writing',
        progress: { rowsDone: 1500, rowsEstimated: 3000 },
        startedAt: new Date(Date.now() - 65_000).toISOString(),
      }),
    );
    expect(p).toMatchObject({
      value: 1500,
      max: 3000,
      text: '1,500 of 3,000 rows written',
      phaseText: 'Writing the files',
    });
    expect(p.elapsed).toMatch(/^1 minute [45] seconds$/);
  });
});

describe('the panel and screening filters', () => {
  it('offers every state but draft, and every state at once; anything else is the default', () => {
    expect(stateFilter('approved', 'in_review').state).toBe('approved');
    expect(stateFilter('all', 'in_review').state).toBeUndefined();
    expect(stateFilter('draft', 'in_review').state).toBe('in_review');
    expect(stateFilter("x' OR 1=1", 'submitted').state).toBe('submitted');
  });
});

describe('the API’s refusals, on their fields', () => {
  const catalog = { datasets: [{ id: 'gp', title: 'GP', description: '', fields: [] }], dimensions: [] };
  const place = (body: object) => {
    const e = formErrors();
    apiErrorsToFields(body, e, catalog as never);
    return e.byField;
  };
  it('maps codes and class-validator property paths to the form’s fields, never to Title by default', () => {
    expect(
      Object.keys(place({ code: 'INVALID_COHORT', message: 'cohort.eventsFrom is after cohort.eventsTo' })),
    ).toEqual(['eventsTo']);
    expect(
      place({
        code: 'DURATION_TOO_LONG',
        message: 'durationMonths is at most 12 for a commercial organisation',
        details: { max: 12 },
      }),
    ).toEqual({
      durationMonths: 'Enter a duration of 12 months or fewer: your organisation is commercial',
    });
    expect(
      Object.keys(
        place({
          code: 'VALIDATION_FAILED',
          message:
            'cohort.ageMin must not be greater than 130; title must be shorter than or equal to 200 characters',
        }),
      ),
    ).toEqual(['ageMin', 'title']);
    expect(Object.keys(place({ code: 'INVALID_RECIPIENTS', message: 'Every recipient must be…' }))).toEqual([
      'form',
    ]);
  });
});

describe("a panel member's own vote", () => {
  const ev = (action: string, actorId: string | null, round?: number, decision?: string) => ({
    id: action,
    at: '2026-12-06T10:00:00.000Z',
    action,
    actorId,
    fromState: null,
    toState: null,
    remarks: null,
    details: { ...(round ? { round } : {}), ...(decision ? { decision } : {}) },
  });
  it('is of the round in progress only: after a return and a new screening, the member votes again (a review, 2026-12-06)', () => {
    const first = [ev('screen_accept', 'o'), ev('vote', 'me', 1, 'return'), ev('decide_return', null)];
    expect(myVote(first, 'me')).toEqual({ decision: 'Return', at: '2026-12-06T10:00:00.000Z' });
    const again = [...first, ev('submit', 'r'), ev('screen_accept', 'o', 2)];
    expect(myVote(again, 'me')).toBeUndefined();
    expect(myVote([...again, ev('vote', 'other', 2, 'approve')], 'me')).toBeUndefined();
    expect(myVote([...again, ev('vote', 'me', 2, 'approve')], 'me')?.decision).toBe('Approve');
    expect(myVote(first, undefined)).toBeUndefined();
  });

  it("the panel's record is of the round in progress: a new round shows none of the last round's votes or its outcome", () => {
    const bid = { state: 'in_review', conditions: [] } as never;
    const first = [
      ev('screen_accept', 'o'),
      ev('vote', 'a', 1, 'return'),
      ev('vote', 'b', 1, 'return'),
      ev('decide_return', null),
    ];
    expect(panelRecord({ state: 'returned', conditions: [] } as never, first)).toMatchObject({
      round: 1,
      counted: 2,
      outcome: expect.any(String),
    });
    const again = [...first, ev('submit', 'r'), ev('screen_accept', 'o')];
    expect(panelRecord(bid, again)).toMatchObject({
      round: 2,
      votes: [],
      counted: 0,
      decided: false,
      outcome: null,
    });
    const voted = panelRecord(bid, [...again, ev('vote', 'a', 2, 'approve')]);
    expect(voted).toMatchObject({ round: 2, counted: 1 });
    expect(voted.votes.map((v) => v.decision)).toEqual(['Approve']);
  });
});
