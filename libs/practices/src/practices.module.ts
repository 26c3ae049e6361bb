import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from '@custodian/audit';
import { Type1KeysModule } from '@custodian/linkage';
import { ObjectionsModule } from '@custodian/objections';
import { ExtractsService } from './extracts.service';
import { Practice } from './practice.entity';
import { PracticesService } from './practices.service';

@Module({
  imports: [TypeOrmModule.forFeature([Practice]), AuditModule, ObjectionsModule, Type1KeysModule],
  providers: [PracticesService, ExtractsService],
  exports: [PracticesService, ExtractsService],
})
export class PracticesModule {}
