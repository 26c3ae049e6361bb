import { Module } from '@nestjs/common';
import { LinkageModule } from './linkage.module';
import { SourcesController } from './sources.controller';

@Module({ imports: [LinkageModule], controllers: [SourcesController] })
export class LinkageHttpModule {}
