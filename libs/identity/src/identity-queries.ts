/**
 * Named queries of the identity library for other libraries (STYLE 13): `users` is this
 * library's table; a reader elsewhere imports one of these, so the import graph shows it.
 */

/**
 * A condition: the user whose id is the expression `userId` is, now, an enabled researcher of the
 * organisation whose id is the expression `organisationId` (read from the table, not a cached
 * principal: a user moved, disabled or stripped of the role is not).
 */
export function currentResearcherOf(userId: string, organisationId: string): string {
  return `EXISTS (SELECT 1 FROM users u WHERE u.id = ${userId} AND u.organisation_id = ${organisationId}
                   AND NOT u.disabled AND 'researcher' = ANY(u.roles))`;
}

/**
 * Notifications (#25): the enabled users a notice goes to, as a query of one column `id`, over the
 * parameters `$1` … `$5`: `$1` a uuid[] of named users, `$2` an organisation they must still belong
 * to (or null); `$3` a role every enabled holder of which is notified, `$4` an organisation whose
 * members are left out of that (or null: segregation of duties, a reviewer never hears of their
 * own organisation's request); `$5` an ODS code whose practice accounts are notified. Unused
 * parameters are null. Disabled users get nothing. The recipients are locked (`FOR SHARE`) until the
 * notices commit: a user moved or stripped of a role meanwhile waits, then loses them with the
 * others (a review: a notice picked for the old organisation could be inserted after the move's
 * deletion); a move committed first leaves the user out (the row is read again).
 */
export const NOTIFIABLE_USERS_SQL = `
  SELECT u.id FROM users u
   WHERE NOT u.disabled
     AND (   (u.id = ANY($1::uuid[]) AND ($2::uuid IS NULL OR u.organisation_id = $2::uuid))
          OR ($3::text IS NOT NULL AND $3::text = ANY(u.roles)
              AND ($4::uuid IS NULL OR u.organisation_id IS DISTINCT FROM $4::uuid))
          OR ($5::text IS NOT NULL AND u.practice_ods = $5::text AND 'practice' = ANY(u.roles)))
     FOR SHARE OF u`;

/** Notifications (#25): the address of an enabled user (`$1`), or no row when disabled or gone. */
export const NOTIFIABLE_ADDRESS_SQL = `SELECT email FROM users WHERE id = $1 AND NOT disabled`;
