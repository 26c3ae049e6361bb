import { Body, Controller, Get, HttpCode, Param, Patch, Post, Req } from '@nestjs/common';
import {
  ApiBody,
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiOkResponse,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { Can, CurrentUser, Principal, ReqMeta, RequestMeta, StreamedBody } from '@custodian/core';
import {
  AwarenessDto,
  CreatePracticeDto,
  ExtractReportDto,
  ExtractSummaryDto,
  NationalRolloutDto,
  PracticeDto,
  UpdatePracticeDto,
} from './dto';
import { ExtractsService } from './extracts.service';
import { OdsCodePipe } from './ods-code.pipe';
import { PracticesService } from './practices.service';

@ApiTags('practices')
@Controller('practices')
export class PracticesController {
  constructor(
    private readonly practices: PracticesService,
    private readonly extracts: ExtractsService,
  ) {}

  @Post()
  @Can('create', 'Practice')
  @ApiCreatedResponse({ type: PracticeDto })
  async create(
    @CurrentUser() user: Principal,
    @Body() dto: CreatePracticeDto,
    @ReqMeta() meta: RequestMeta,
  ): Promise<PracticeDto> {
    return this.practices.toResponse(await this.practices.create(user, dto, meta));
  }

  /** Every `none` / `pilot_declined` practice moves to `national`. */
  @Post('national-rollout')
  @HttpCode(200)
  @Can('rollout', 'Practice')
  @ApiOkResponse({ type: NationalRolloutDto })
  nationalRollout(@CurrentUser() user: Principal, @ReqMeta() meta: RequestMeta): Promise<NationalRolloutDto> {
    return this.practices.nationalRollout(user, meta);
  }

  @Get()
  @Can('read', 'Practice')
  @ApiOkResponse({ type: [PracticeDto] })
  async list(@CurrentUser() user: Principal): Promise<PracticeDto[]> {
    return (await this.practices.list(user)).map(this.practices.toResponse);
  }

  @Get(':ods')
  @Can('read', 'Practice')
  @ApiOkResponse({ type: PracticeDto })
  async get(@CurrentUser() user: Principal, @Param('ods', OdsCodePipe) ods: string): Promise<PracticeDto> {
    return this.practices.toResponse(await this.practices.get(user, ods));
  }

  @Patch(':ods')
  @Can('update', 'Practice')
  @ApiOkResponse({ type: PracticeDto })
  async update(
    @CurrentUser() user: Principal,
    @Param('ods', OdsCodePipe) ods: string,
    @Body() dto: UpdatePracticeDto,
    @ReqMeta() meta: RequestMeta,
  ): Promise<PracticeDto> {
    return this.practices.toResponse(await this.practices.update(user, ods, dto, meta));
  }

  /** The day the practice started informing its patients (its own practice, or an admin). */
  @Post(':ods/awareness')
  @HttpCode(200)
  @Can('submit', 'Practice')
  @ApiOkResponse({ type: PracticeDto })
  async awareness(
    @CurrentUser() user: Principal,
    @Param('ods', OdsCodePipe) ods: string,
    @Body() dto: AwarenessDto,
    @ReqMeta() meta: RequestMeta,
  ): Promise<PracticeDto> {
    return this.practices.toResponse(await this.practices.recordAwareness(user, ods, dto, meta));
  }

  /** The practice's extracts, newest first (at most 200): its own practice, admins, data managers. */
  @Get(':ods/extracts')
  @Can('read', 'Extract')
  @ApiOkResponse({ type: [ExtractSummaryDto] })
  extractsOf(
    @CurrentUser() user: Principal,
    @Param('ods', OdsCodePipe) ods: string,
  ): Promise<ExtractSummaryDto[]> {
    return this.extracts.list(user, ods);
  }

  /** A FHIR R4 NDJSON extract from the practice itself, streamed (SPEC §2). */
  @Post(':ods/extracts')
  @HttpCode(201)
  @Can('upload', 'Extract')
  // SPEC §7's type, and FHIR Bulk Data's name for the same format (what FHIR clients send).
  @StreamedBody('application/x-ndjson', 'application/fhir+ndjson')
  @ApiBody({ schema: { type: 'string', description: 'one FHIR R4 resource per line' } })
  @ApiBadRequestResponse({
    description:
      'EXTRACT_EMPTY: no FHIR resource in the body (empty, or blank lines only); EXTRACT_NOT_NDJSON: no line of the body is a JSON object (another kind of file: an image, a spreadsheet, a FHIR Bundle split over lines); nothing is stored',
  })
  @ApiCreatedResponse({ type: ExtractReportDto })
  @ApiConflictResponse({
    description: 'PRACTICE_NOT_ROLLED_OUT or AWARENESS_PERIOD_NOT_OVER: nothing is stored',
  })
  @ApiUnprocessableEntityResponse({
    description:
      'EXTRACT_OBJECTION_UNRESOLVED: an objection names no patient that can be found; the whole extract is refused (details.unresolved: line numbers and reasons) and nothing is stored',
  })
  upload(
    @CurrentUser() user: Principal,
    @Param('ods', OdsCodePipe) ods: string,
    @Req() req: FastifyRequest,
    @ReqMeta() meta: RequestMeta,
  ): Promise<ExtractReportDto> {
    return this.extracts.intake(user, ods, req.body as NodeJS.ReadableStream, meta);
  }
}
