import { randomBytes } from 'node:crypto';
import { aggregateRequest, populationThreshold } from './aggregate-threshold';
import type { ReleaseSpec } from './release.types';

const key = randomBytes(32);
const bid = '0b4a6e3c-5d1f-4c2e-9a7b-3f8e2d1c0b9a';
const request = (over: Partial<Parameters<typeof aggregateRequest>[0]> = {}) =>
  aggregateRequest({ bidId: bid, ...over });

describe('aggregate minimum population with a keyed margin (probe 27)', () => {
  it('is never below the minimum nor above minimum + width, and takes every value between', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      const t = populationThreshold(key, request({ bidId: `bid-${i}` }), null, 100, 14);
      expect(t).toBeGreaterThanOrEqual(100);
      expect(t).toBeLessThanOrEqual(114);
      seen.add(t);
    }
    expect([...seen].sort((a, b) => a - b)).toEqual(Array.from({ length: 15 }, (_, i) => 100 + i));
  });

  it('is the same for every release of the same request of the same bid', () => {
    const a = populationThreshold(key, request(), { dimension: 'sex', value: 'F' }, 100, 14);
    for (let i = 0; i < 5; i++)
      expect(populationThreshold(key, request(), { dimension: 'sex', value: 'F' }, 100, 14)).toBe(a);
  });

  it('keys the bid alone: no cohort, spelling or amendment of one bid draws a new threshold (review-27)', () => {
    const spec: Pick<ReleaseSpec, 'bidId' | 'datasets' | 'cohort' | 'aggregation'> = {
      bidId: bid,
      datasets: [{ dataset: 'gp', fields: ['code'] }],
      cohort: { practices: ['K90273'], conditionCodes: ['35489007'] },
      aggregation: { dimensions: ['sex', 'year'] },
    };
    expect(aggregateRequest(spec)).toBe(request());
    const amended = { ...spec, cohort: { ...spec.cohort, ageMax: 120 } };
    expect(aggregateRequest(amended)).toBe(request());
    expect(request({ bidId: 'another' })).not.toBe(request());
  });

  it('depends on the key: without it the offset cannot be computed', () => {
    const bids = Array.from({ length: 200 }, (_, i) => request({ bidId: `bid-${i}` }));
    const other = randomBytes(32);
    const differ = bids.filter(
      (r) => populationThreshold(key, r, null, 100, 14) !== populationThreshold(other, r, null, 100, 14),
    );
    expect(differ.length).toBeGreaterThan(150);
  });

  it('a margin of width 0 is the bare minimum', () => {
    expect(populationThreshold(key, request(), null, 100, 0)).toBe(100);
  });
});
