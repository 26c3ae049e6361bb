import { AMENDMENT_TRANSITIONS, TRANSITIONS } from '@custodian/bids';
import type { BidEvent } from './bids-api';
import type { PortalRequest } from './portal-api';
import { timelineOf } from './timeline';

describe('the request timeline in words', () => {
  it('names every action of a request and of its amendments in words, never as its code (a walk-through found "Amend screen accept")', () => {
    const actions = [
      ...TRANSITIONS.map((t) => t.action),
      ...AMENDMENT_TRANSITIONS.map((t) => `amend_${t.action}`),
      'vote',
      'vote_recused',
      'amend_vote',
      'amend_vote_recused',
    ];
    const events: BidEvent[] = actions.map((action, i) => ({
      id: String(i),
      at: '2026-12-06T10:00:00.000Z',
      action,
      fromState: null,
      toState: null,
      remarks: null,
      details: {},
    }));
    const raw = timelineOf(events, {} as PortalRequest)
      .map((e, i) => [actions[i], e.title] as const)
      .filter(([action, title]) => title.toLowerCase().replace(/ /g, '_') === action.toLowerCase());
    expect(raw).toEqual([]);
  });
});
