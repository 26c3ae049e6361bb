import { Controller, Get, Param } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { Can, CurrentUser, Principal, ParseUUIDPipe } from '@custodian/core';
import { ExtractReportDto } from './dto';
import { ExtractsService } from './extracts.service';

@ApiTags('extracts')
@Controller('extracts')
export class ExtractsController {
  constructor(private readonly extracts: ExtractsService) {}

  /** The report of an extract: the uploading practice, admins and data managers. */
  @Get(':id')
  @Can('read', 'Extract')
  @ApiOkResponse({ type: ExtractReportDto })
  get(@CurrentUser() user: Principal, @Param('id', ParseUUIDPipe) id: string): Promise<ExtractReportDto> {
    return this.extracts.get(user, id);
  }
}
