import { NotFoundError } from '@custodian/core';

/**
 * The one answer to a withdrawal that may not or cannot be made (SPEC §2): not this practice's to
 * withdraw, nothing active to withdraw, or an NHS number the centre has never seen all read the
 * same, so no answer reveals whether another practice holds a number.
 */
export const OBJECTION_NOT_FOUND = 'OBJECTION_NOT_FOUND';

export const objectionNotFound = () => new NotFoundError(OBJECTION_NOT_FOUND, 'Objection');
