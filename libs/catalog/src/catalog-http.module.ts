import { Module } from '@nestjs/common';
import { CatalogController } from './catalog.controller';
import { CatalogModule } from './catalog.module';

@Module({ imports: [CatalogModule], controllers: [CatalogController] })
export class CatalogHttpModule {}
