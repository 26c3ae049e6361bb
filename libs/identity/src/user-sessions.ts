import type { EntityManager } from 'typeorm';

/**
 * What identity needs of the sessions (auth's): ending a user's sessions when their access changes
 * (disabled, roles, practice binding or password), in the changing transaction, and forgetting
 * their cached session checks once it commits. Auth provides it (`USER_SESSIONS`), so the import
 * arrow runs one way: auth → identity.
 */
export interface UserSessions {
  revokeUserSessions(tx: EntityManager, userId: string, reason: string): Promise<number>;
  forgetUser(userId: string): void;
}
export const USER_SESSIONS = Symbol('USER_SESSIONS');
