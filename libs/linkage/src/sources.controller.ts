import { Controller, Get, Param, Post, Query, Req } from '@nestjs/common';
import { ApiBody, ApiCreatedResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import {
  Can,
  CurrentUser,
  Principal,
  ReqMeta,
  RequestMeta,
  StreamedBody,
  ParseUUIDPipe,
} from '@custodian/core';
import { LinkageReport, ListLoadsQuery, SourceLoadSummary } from './dto';
import { SourceLoadService } from './source-load.service';
import type { SourceKind } from './source-formats';

const CSV_BODY = { schema: { type: 'string', format: 'binary', description: 'The CSV file, header first' } };

@ApiTags('sources')
@Controller('sources')
export class SourcesController {
  constructor(private readonly loads: SourceLoadService) {}

  @Post('hes')
  @Can('upload', 'Source')
  @StreamedBody('text/csv')
  @ApiBody(CSV_BODY)
  @ApiCreatedResponse({ type: LinkageReport })
  hes(@CurrentUser() user: Principal, @Req() req: FastifyRequest, @ReqMeta() meta: RequestMeta) {
    return this.upload(user, 'hes', req, meta);
  }

  @Post('social-care')
  @Can('upload', 'Source')
  @StreamedBody('text/csv')
  @ApiBody(CSV_BODY)
  @ApiCreatedResponse({ type: LinkageReport })
  socialCare(@CurrentUser() user: Principal, @Req() req: FastifyRequest, @ReqMeta() meta: RequestMeta) {
    return this.upload(user, 'social_care', req, meta);
  }

  @Get('loads')
  @Can('read', 'Source')
  @ApiOkResponse({ type: [SourceLoadSummary] })
  list(@Query() q: ListLoadsQuery): Promise<SourceLoadSummary[]> {
    return this.loads.list(q.kind);
  }

  @Get('loads/:id')
  @Can('read', 'Source')
  @ApiOkResponse({ type: LinkageReport })
  get(@Param('id', ParseUUIDPipe) id: string): Promise<LinkageReport> {
    return this.loads.get(id);
  }

  /** The body is a text/csv stream: @StreamedBody refused every other content type before this. */
  private upload(user: Principal, kind: SourceKind, req: FastifyRequest, meta: RequestMeta) {
    return this.loads.load(user, kind, req.body as NodeJS.ReadableStream, meta);
  }
}
