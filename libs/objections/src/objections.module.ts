import { Module } from '@nestjs/common';
import { AuditModule } from '@custodian/audit';
import { ObjectionsService } from './objections.service';

@Module({ imports: [AuditModule], providers: [ObjectionsService], exports: [ObjectionsService] })
export class ObjectionsModule {}
