import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from '@custodian/audit';
import { AuthModule } from '@custodian/auth';
import { IdentityService } from './identity.service';
import { Organisation } from './organisation.entity';
import { RoleGrant } from './role-grant.entity';
import { User } from './user.entity';

@Module({
  imports: [TypeOrmModule.forFeature([Organisation, User, RoleGrant]), AuditModule, AuthModule],
  providers: [IdentityService],
  exports: [IdentityService],
})
export class IdentityModule {}
