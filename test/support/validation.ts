/** The cohort's keys (SPEC §4): each optional, none of them null. */
export const COHORT_KEYS = [
  'ageMin',
  'ageMax',
  'practices',
  'postcodeAreas',
  'conditionCodes',
  'eventsFrom',
  'eventsTo',
] as const;

/** An answer that refuses a body as invalid: 400 VALIDATION_FAILED, its message naming `field`. */
export const expectRefusedNaming = (
  res: { status: number; body: { code?: string; message?: string } },
  field: string,
) =>
  expect({
    field,
    status: res.status,
    code: res.body.code,
    names: String(res.body.message).includes(field),
  }).toEqual({ field, status: 400, code: 'VALIDATION_FAILED', names: true });
