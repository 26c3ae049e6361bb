import { Controller, Get, Header } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { Can } from '@custodian/core';
import { CatalogService } from './catalog.service';
import { CatalogDto } from './dto';

@ApiTags('datasets')
@Controller('datasets')
export class CatalogController {
  constructor(private readonly catalog: CatalogService) {}

  /** The datasets a bid may request, their fields with classification, and the aggregate dimensions. */
  @Get()
  @Can('read', 'Dataset')
  @ApiOkResponse({ type: CatalogDto })
  @Header('content-type', 'application/json; charset=utf-8')
  get(): Promise<Buffer> {
    // CatalogDto, written once while the catalogue does not change (CatalogService.responseBody).
    return this.catalog.responseBody();
  }
}
