import { Module } from '@nestjs/common';
import { ObjectionsController } from './objections.controller';
import { ObjectionsModule } from './objections.module';

@Module({ imports: [ObjectionsModule], controllers: [ObjectionsController] })
export class ObjectionsHttpModule {}
