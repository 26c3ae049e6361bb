import { Module } from '@nestjs/common';
import { ReleaseController } from './release.controller';
import { ReleaseModule } from './release.module';

@Module({ imports: [ReleaseModule], controllers: [ReleaseController] })
export class ReleaseHttpModule {}
