import fc from 'fast-check';
import { canonicalJson, chainHash, GENESIS_HASH } from './audit-chain';

const entry = {
  at: new Date('2026-01-01T00:00:00.000Z'),
  actorId: null,
  actorRoles: ['admin'],
  action: 'user.create',
  outcome: 'success',
  bidId: null,
  subjectType: 'user',
  subjectId: 'x',
  requestId: 'r',
  ip: '127.0.0.1',
  details: { b: 1, a: { d: [1, 2], c: 'x' } },
};

describe('audit chain', () => {
  it('hashes independently of key order', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.oneof(fc.integer(), fc.string(), fc.boolean())), (obj) => {
        const reversed = Object.fromEntries(Object.entries(obj).reverse());
        return canonicalJson(obj) === canonicalJson(reversed);
      }),
    );
  });

  it('changes when any field changes', () => {
    const h = chainHash(GENESIS_HASH, entry);
    expect(chainHash(GENESIS_HASH, { ...entry, action: 'user.update' })).not.toBe(h);
    expect(chainHash(GENESIS_HASH, { ...entry, details: { b: 2, a: entry.details.a } })).not.toBe(h);
    expect(chainHash('1'.repeat(64), entry)).not.toBe(h);
    expect(chainHash(GENESIS_HASH, { ...entry, details: { a: entry.details.a, b: 1 } })).toBe(h);
  });
});
