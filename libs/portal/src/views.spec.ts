import { humaniseText } from './views';

describe('codes in words (the humanise filter)', () => {
  it('writes the words of codes as people write them (a walk-through, 2026-12-06)', () => {
    expect(humaniseText('invalid_nhs_number')).toBe('Invalid NHS number');
    expect(humaniseText('invalid_dob')).toBe('Invalid date of birth');
    expect(humaniseText('s251')).toBe('Section 251');
    expect(humaniseText('nhs')).toBe('NHS');
    expect(humaniseText('in_review')).toBe('In review');
    expect(humaniseText('public_health_emergency')).toBe('Public health emergency');
    expect(humaniseText(undefined)).toBe('');
  });
});
