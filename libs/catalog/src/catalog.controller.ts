import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { Can } from '@custodian/core';
import { CatalogService, toCatalogResponse } from './catalog.service';
import { CatalogDto } from './dto';

@ApiTags('datasets')
@Controller('datasets')
export class CatalogController {
  constructor(private readonly catalog: CatalogService) {}

  /** The datasets a bid may request, their fields with classification, and the aggregate dimensions. */
  @Get()
  @Can('read', 'Dataset')
  @ApiOkResponse({ type: CatalogDto })
  async get(): Promise<CatalogDto> {
    return toCatalogResponse(await this.catalog.load());
  }
}
