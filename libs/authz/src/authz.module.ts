import { Module } from '@nestjs/common';
import { AuditModule } from '@custodian/audit';
import { PoliciesGuard } from './policies.guard';

@Module({ imports: [AuditModule], providers: [PoliciesGuard], exports: [PoliciesGuard] })
export class AuthzModule {}
