export { AUTHZ_ERRORS } from './authz.errors';
export { defineAbilityFor } from './ability';
export { AuthzModule } from './authz.module';
export { PoliciesGuard } from './policies.guard';
