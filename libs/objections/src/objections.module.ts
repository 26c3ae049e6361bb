import { Module } from '@nestjs/common';
import { AuditModule } from '@custodian/audit';
import { Type1KeysModule } from '@custodian/linkage';
import { ObjectionsService } from './objections.service';

@Module({
  imports: [AuditModule, Type1KeysModule],
  providers: [ObjectionsService],
  exports: [ObjectionsService],
})
export class ObjectionsModule {}
