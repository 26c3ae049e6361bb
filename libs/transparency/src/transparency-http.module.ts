import { Module } from '@nestjs/common';
import { TransparencyController } from './transparency.controller';
import { TransparencyModule } from './transparency.module';

@Module({ imports: [TransparencyModule], controllers: [TransparencyController] })
export class TransparencyHttpModule {}
