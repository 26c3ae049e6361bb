import type { EntityManager } from 'typeorm';

/**
 * What identity needs of the notifications (notifications'): forgetting a user's notices when they
 * move to another organisation or practice, in the moving transaction. Every notice is addressed to
 * its recipient as a member of their organisation or practice at the time (an applicant's request,
 * a practice's extract, a bid to review that is not of their own organisation); after a move none
 * is theirs to see (docs/NOTIFICATIONS.md). Notifications provides it (`USER_NOTICES`), so the
 * import arrow runs one way: notifications → identity.
 */
export interface UserNotices {
  /** Deletes every notice of the user (a queued email is then not sent); returns how many. */
  forgetUserNotices(tx: EntityManager, userId: string): Promise<number>;
}
export const USER_NOTICES = Symbol('USER_NOTICES');
