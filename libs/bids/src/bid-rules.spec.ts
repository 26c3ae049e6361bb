import { TIERS } from '@custodian/catalog';
import { BASES_BY_TIER, objectionHandling } from './bid-rules';

describe('legal basis by tier', () => {
  it('identifiable and pseudonymised need a legal basis; none only for anonymised/aggregate', () => {
    expect(BASES_BY_TIER.identifiable).not.toContain('none');
    expect(BASES_BY_TIER.pseudonymised).not.toContain('none');
    expect(BASES_BY_TIER.anonymised).toContain('none');
    expect(BASES_BY_TIER.aggregate).toContain('none');
  });
});

describe('objection handling', () => {
  it('is not applied under public_health_emergency or statutory, with a reason', () => {
    for (const tier of TIERS) {
      expect(objectionHandling('public_health_emergency', tier)).toMatchObject({ applied: false });
      expect(objectionHandling('statutory', tier).note).toMatch(/statute/);
    }
    expect(objectionHandling('s251', 'pseudonymised').applied).toBe(true);
    expect(objectionHandling('none', 'aggregate').applied).toBe(false);
  });

  it('says which objections it is about, and that Type 1 objectors are always out (an aggregate bid\'s register line said "Objections not applied" beside its release line\'s "Type 1 excluded")', () => {
    for (const tier of TIERS)
      for (const basis of ['none', 's251', 'consent', 'statutory', 'public_health_emergency'] as const) {
        const { note } = objectionHandling(basis, tier);
        expect(note, `${basis} ${tier}`).toMatch(/Type 2 objections|type 2 objection/);
        expect(note, `${basis} ${tier}`).toMatch(/Type 1 objectors (excluded|counted nowhere)/);
      }
  });
});
