import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiBearerAuth, ApiForbiddenResponse, ApiUnauthorizedResponse } from '@nestjs/swagger';

export const PERMISSION = 'custodian:permission';
export interface Permission {
  action: Action;
  subject: SubjectName;
}

/**
 * The one decorator that opens a route: who may call it, as an action on a subject. A route with
 * neither this nor @Public() is refused by the PoliciesGuard.
 */
export const Can = (action: Action, subject: SubjectName) =>
  applyDecorators(
    SetMetadata(PERMISSION, { action, subject } satisfies Permission),
    ApiBearerAuth(),
    ApiUnauthorizedResponse({ description: 'No valid access token' }),
    ApiForbiddenResponse({ description: `Requires ${action} on ${subject}` }),
  );

/** Verbs of the service; `manage` means every action. */
export type Action =
  | 'manage'
  | 'create'
  | 'read'
  | 'update'
  | 'delete'
  | 'submit'
  | 'withdraw'
  | 'screen'
  | 'vote'
  | 'accept'
  | 'revoke'
  | 'release'
  | 'download'
  | 'upload'
  | 'verify'
  | 'rollout'
  | 'approve'
  | 'refuse';

export type SubjectName =
  | 'all'
  | 'Profile'
  | 'Session'
  | 'Organisation'
  | 'User'
  | 'RoleGrant'
  | 'Audit'
  | 'Practice'
  | 'Extract'
  | 'Objection'
  | 'Source'
  | 'Dataset'
  | 'Bid'
  | 'Agreement'
  | 'Release'
  | 'Register'
  | 'Notification';
