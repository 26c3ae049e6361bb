export { IdentityHttpModule } from './identity-http.module';
export { IdentityModule } from './identity.module';
export { IdentityService } from './identity.service';
export { Organisation, type OrganisationKind } from './organisation.entity';
export { User } from './user.entity';
export { PasswordService } from './password.service';
export { USER_SESSIONS } from './user-sessions';
export { IDENTITY_ERRORS } from './identity.errors';
export { GRANT_ERRORS } from './role-grants';
