import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from '@custodian/audit';
import { IdentityService } from './identity.service';
import { PasswordService } from './password.service';
import { Organisation } from './organisation.entity';
import { RoleGrant } from './role-grant.entity';
import { User } from './user.entity';

/** Organisations, users and roles. Ending a user's sessions is auth's (`USER_SESSIONS`, from the global AuthModule). */
@Module({
  imports: [TypeOrmModule.forFeature([Organisation, User, RoleGrant]), AuditModule],
  providers: [IdentityService, PasswordService],
  exports: [IdentityService, PasswordService],
})
export class IdentityModule {}
