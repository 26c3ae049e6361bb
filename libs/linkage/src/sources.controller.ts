import { Controller, Get, Param, ParseUUIDPipe, Post, Query, Req } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiCreatedResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { Can, CurrentUser, Principal, ReqMeta, RequestMeta } from '@custodian/core';
import { LinkageReport, ListLoadsQuery, SourceLoadSummary } from './dto';
import { UnsupportedMediaTypeError } from './linkage.errors';
import { SourceLoadService } from './source-load.service';
import type { SourceKind } from './source-formats';

const CSV_BODY = { schema: { type: 'string', format: 'binary', description: 'The CSV file, header first' } };

@ApiTags('sources')
@Controller('sources')
export class SourcesController {
  constructor(private readonly loads: SourceLoadService) {}

  @Post('hes')
  @Can('upload', 'Source')
  @ApiConsumes('text/csv')
  @ApiBody(CSV_BODY)
  @ApiCreatedResponse({ type: LinkageReport })
  hes(@CurrentUser() user: Principal, @Req() req: FastifyRequest, @ReqMeta() meta: RequestMeta) {
    return this.upload(user, 'hes', req, meta);
  }

  @Post('social-care')
  @Can('upload', 'Source')
  @ApiConsumes('text/csv')
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

  private upload(user: Principal, kind: SourceKind, req: FastifyRequest, meta: RequestMeta) {
    const body = req.body as NodeJS.ReadableStream | undefined;
    const type = String(req.headers['content-type'] ?? '')
      .split(';')[0]
      .trim()
      .toLowerCase();
    if (type !== 'text/csv' || !body || typeof body.pipe !== 'function')
      throw new UnsupportedMediaTypeError();
    return this.loads.load(user, kind, body, meta);
  }
}
