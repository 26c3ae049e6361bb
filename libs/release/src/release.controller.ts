import { createReadStream } from 'node:fs';
import { Controller, Get, Headers, HttpCode, Param, Post, Req, Res } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiConflictResponse,
  ApiHeader,
  ApiOkResponse,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Can, CurrentUser, Principal, ReqMeta, RequestMeta, ParseUUIDPipe } from '@custodian/core';
import { DownloadGuard } from './download-guard';
import { BidReleasesService } from './bid-releases.service';
import { ReleaseService } from './release.service';
import type { ReleaseView } from './release.types';
import { ReleaseQueuedDto, ReleaseViewDto } from './release.dto';
import { RELEASE_ERRORS } from './release.errors';

/** A release file's bytes, by its kind (gzip data files, the CSV dictionary, the JSON manifest). */
const FILE_CONTENT = {
  'application/gzip': { schema: { type: 'string', contentMediaType: 'application/gzip' } },
  'text/csv': { schema: { type: 'string' } },
  'application/json': { schema: { type: 'object', additionalProperties: true } },
};

/** A byte range of a release file: bytes of it, whatever its kind (a part of the manifest is no JSON). */
const PART_CONTENT = Object.fromEntries(
  Object.keys(FILE_CONTENT).map((type) => [
    type,
    {
      // Bytes, not text (OpenAPI 3.1): a range may cut a character of a CSV or JSON file in two, and
      // a client decoding it as text would corrupt it (a review).
      schema: {
        type: 'string',
        contentMediaType: 'application/octet-stream',
        description: 'The bytes of the range, as `Content-Range` says',
      },
    },
  ]),
);

const CONTENT_TYPE = (name: string) =>
  name.endsWith('.gz')
    ? 'application/gzip'
    : name.endsWith('.json')
      ? 'application/json'
      : 'text/csv; charset=utf-8';

@ApiTags('releases')
@Controller('releases')
export class ReleaseController {
  constructor(
    private readonly releases: ReleaseService,
    private readonly downloads: DownloadGuard,
  ) {}

  @Get(':id')
  @Can('read', 'Release')
  @ApiOkResponse({
    type: ReleaseViewDto,
    description: 'state, progress, tier and (when complete) files with rows, bytes and SHA-256',
  })
  get(@Param('id', ParseUUIDPipe) id: string, @CurrentUser() user: Principal): Promise<ReleaseView> {
    return this.releases.get(id, user);
  }

  @Get(':id/files/:name')
  @Can('download', 'Release')
  @ApiHeader({
    name: 'Range',
    required: false,
    description: 'One byte range (`bytes=0-1023`, `bytes=1024-`, `bytes=-500`) to resume a download',
  })
  @ApiOkResponse({ description: 'The whole file, streamed', content: FILE_CONTENT })
  @ApiResponse({
    status: 206,
    description: 'The requested byte range of the file (`Content-Range` says which)',
    content: PART_CONTENT,
  })
  @ApiResponse({
    status: 304,
    description: 'The client holds this file already (`If-None-Match` names its entity tag): nothing sent',
  })
  @ApiResponse({ status: 416, description: 'The requested range is outside the file' })
  @ApiConflictResponse({
    description:
      'RELEASE_NOT_COMPLETED, RELEASE_NOT_DOWNLOADABLE (files destroyed) or AGREEMENT_NOT_IN_FORCE (expired, revoked or closed)',
  })
  async download(
    @Param('id', ParseUUIDPipe) id: string,
    @Param('name') name: string,
    @CurrentUser() user: Principal,
    @ReqMeta() meta: RequestMeta,
    @Headers('range') range: string | undefined,
    @Headers('if-range') ifRange: string | undefined,
    @Headers('if-none-match') ifNoneMatch: string | undefined,
    @Req() req: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const file = await this.releases.openFile(id, name, user, meta, {
      range,
      ifRange,
      ifNoneMatch,
      head: req.method === 'HEAD',
    });
    const r = file.range;
    reply
      .header('Accept-Ranges', 'bytes')
      .header('ETag', `"${file.sha256}"`)
      .header('Cache-Control', 'no-store');
    if (file.notModified) {
      reply.status(304).send();
      return;
    }
    if (r === 'unsatisfiable') {
      reply.status(416).header('Content-Range', `bytes */${file.size}`).type('application/json').send({
        statusCode: 416,
        error: 'Range Not Satisfiable',
        message: 'The requested range is outside the file',
        code: RELEASE_ERRORS.RANGE_NOT_SATISFIABLE,
      });
      return;
    }
    reply
      .header('Content-Type', CONTENT_TYPE(file.name))
      .header('Content-Disposition', `attachment; filename="${file.name}"`);
    // Cut mid-stream (the connection closed short of Content-Length) when the agreement ends.
    const stream = createReadStream(file.path, r ? { start: r.start, end: r.end } : {});
    this.downloads.watch(id, file.bidId, stream);
    if (r) {
      reply
        .status(206)
        .header('Content-Range', `bytes ${r.start}-${r.end}/${file.size}`)
        .header('Content-Length', String(r.end - r.start + 1))
        .send(stream);
      return;
    }
    reply.status(200).header('Content-Length', String(file.size)).send(stream);
  }
}

@ApiTags('releases')
@Controller('bids')
export class BidReleasesController {
  constructor(private readonly bidReleases: BidReleasesService) {}

  @Post(':id/releases')
  @Can('release', 'Release')
  @HttpCode(202)
  @ApiAcceptedResponse({
    type: ReleaseQueuedDto,
    description: 'queued: `{id, state}`; follow it with GET /api/releases/{id}',
  })
  @ApiConflictResponse({
    description:
      "BID_NOT_ACTIVE, or RELEASE_IN_PROGRESS: a release of this bid, or of another of the organisation's bids, is queued or running (an organisation's releases are made one at a time)",
  })
  request(
    @Param('id', ParseUUIDPipe) id: string,
    @CurrentUser() user: Principal,
    @ReqMeta() meta: RequestMeta,
  ) {
    return this.bidReleases.request(user, id, meta);
  }
}
