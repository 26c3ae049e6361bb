import { Module } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { AuditDenialsInterceptor } from './audit-denials.interceptor';
import { AuditController } from './audit.controller';
import { AuditModule } from './audit.module';
import { DenialSweeper } from './denial-sweeper';

/** The audit routes, the central audit of object-level refusals, and the sweep of denial counts (API processes). */
@Module({
  imports: [AuditModule],
  controllers: [AuditController],
  providers: [DenialSweeper, { provide: APP_INTERCEPTOR, useClass: AuditDenialsInterceptor }],
})
export class AuditHttpModule {}
