import { OBJECTION_CODES, objectionFor, READV2_SYSTEM, SNOMED_SYSTEM } from './objection-codes';

describe('objection code table', () => {
  it('holds exactly the codes of SPEC §2', () => {
    expect(OBJECTION_CODES.map((c) => [c.code, c.type, c.action])).toEqual([
      ['9Nu0', 'type1', 'register'],
      ['9Nu1', 'type1', 'withdraw'],
      ['9Nu4', 'type2', 'register'],
      ['9Nu5', 'type2', 'withdraw'],
      ['827241000000103', 'type1', 'register'],
    ]);
  });

  it('recognises Read v2 codes with or without their dot padding, and only in their system', () => {
    expect(objectionFor(READV2_SYSTEM, '9Nu0.')).toMatchObject({ type: 'type1', action: 'register' });
    expect(objectionFor(READV2_SYSTEM, '9Nu5')).toMatchObject({ type: 'type2', action: 'withdraw' });
    expect(objectionFor(SNOMED_SYSTEM, '9Nu0')).toBeUndefined();
    expect(objectionFor(SNOMED_SYSTEM, '827241000000103')).toMatchObject({ type: 'type1' });
    expect(objectionFor(READV2_SYSTEM, '9Nu2')).toBeUndefined();
  });
});
