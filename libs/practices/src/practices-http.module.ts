import { Module } from '@nestjs/common';
import { ExtractsController } from './extracts.controller';
import { PracticesController } from './practices.controller';
import { PracticesModule } from './practices.module';

@Module({ imports: [PracticesModule], controllers: [PracticesController, ExtractsController] })
export class PracticesHttpModule {}
