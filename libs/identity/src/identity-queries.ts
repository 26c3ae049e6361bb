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
