import { EntityManager } from 'typeorm';
import { ValidationError, type Role } from '@custodian/core';
import { IDENTITY_ERRORS } from './identity.errors';
import { Organisation } from './organisation.entity';

/**
 * A user's role bindings (enforced here and in the schema): a practice user is bound to one
 * practice and only they are; a researcher belongs to an existing organisation.
 */
export async function checkBindings(
  em: EntityManager,
  roles: Role[],
  organisationId: string | null,
  practiceOds: string | null,
): Promise<void> {
  if (roles.includes('practice') && !practiceOds)
    throw new ValidationError(
      IDENTITY_ERRORS.PRACTICE_BINDING_REQUIRED,
      'a practice user must be bound to a practice (practiceOds)',
    );
  if (!roles.includes('practice') && practiceOds)
    throw new ValidationError(
      IDENTITY_ERRORS.PRACTICE_BINDING_NOT_ALLOWED,
      'practiceOds is only for practice users',
    );
  if (roles.includes('researcher') && !organisationId)
    throw new ValidationError(
      IDENTITY_ERRORS.ORGANISATION_REQUIRED,
      'a researcher must belong to an organisation (organisationId)',
    );
  if (organisationId && !(await em.getRepository(Organisation).existsBy({ id: organisationId }))) {
    throw new ValidationError(
      IDENTITY_ERRORS.UNKNOWN_ORGANISATION,
      'organisationId does not name an existing organisation',
    );
  }
}
