import { Body, Controller, Get, Header, HttpCode, Patch, Post, Put, Query, Req } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiTags,
} from '@nestjs/swagger';
import { BidIdParam } from './route-params';
import { Can, CurrentUser, Principal, ReqMeta, RequestMeta, StreamedBody } from '@custodian/core';
import { type BidPage, toBidResponse } from './bid-read';
import { BidsService } from './bids.service';
import { CohortService } from './cohort.service';
import {
  BidDto,
  BidEventDto,
  BidListDto,
  CohortUploadDto,
  CreateBidDto,
  ListBidsQueryDto,
  RemarksDto,
  RevokeBidDto,
  UpdateBidDto,
} from './dto';

@ApiTags('bids')
@ApiNotFoundResponse({
  description: 'No such bid, or not one you may see (another organisation’s bid is 404)',
})
@Controller('bids')
export class BidsController {
  constructor(
    private readonly bids: BidsService,
    private readonly cohorts: CohortService,
  ) {}

  @Post()
  @Can('create', 'Bid')
  @ApiCreatedResponse({ type: BidDto })
  @ApiBadRequestResponse({
    description: 'Invalid body, tier/legal basis mismatch, field outside the catalogue…',
  })
  async create(
    @CurrentUser() user: Principal,
    @Body() dto: CreateBidDto,
    @ReqMeta() meta: RequestMeta,
  ): Promise<BidDto> {
    return toBidResponse(await this.bids.create(user, dto, meta));
  }

  @Get()
  @Can('read', 'Bid')
  @ApiOkResponse({ type: BidListDto })
  @Header('content-type', 'application/json; charset=utf-8')
  async list(@CurrentUser() user: Principal, @Query() q: ListBidsQueryDto): Promise<Buffer> {
    const page = await this.bids.list(user, q);
    // A page the service kept (same scope, page and limit) is written out and encoded once, not
    // per request (a page of 50 bids is ~50 KB of UTF-8).
    let body = this.pageBodies.get(page);
    if (body === undefined) {
      const dto: BidListDto = {
        items: page.items.map(toBidResponse),
        page: q.page,
        limit: q.limit,
        total: page.total,
      };
      body = Buffer.from(JSON.stringify(dto), 'utf8');
      this.pageBodies.set(page, body);
    }
    return body;
  }
  private readonly pageBodies = new WeakMap<BidPage, Buffer>();

  @Get(':id')
  @Can('read', 'Bid')
  @ApiOkResponse({ type: BidDto })
  async get(@CurrentUser() user: Principal, @BidIdParam() id: string): Promise<BidDto> {
    const bid = await this.bids.get(user, id);
    const linkageRisk = await this.bids.linkageRisk(user, bid);
    return { ...toBidResponse(bid), ...(linkageRisk ? { linkageRisk } : {}) };
  }

  @Patch(':id')
  @Can('update', 'Bid')
  @ApiOkResponse({ type: BidDto })
  @ApiConflictResponse({ description: 'BID_NOT_EDITABLE: only draft and returned bids are edited' })
  async update(
    @CurrentUser() user: Principal,
    @BidIdParam() id: string,
    @Body() dto: UpdateBidDto,
    @ReqMeta() meta: RequestMeta,
  ): Promise<BidDto> {
    return toBidResponse(await this.bids.update(user, id, dto, meta));
  }

  @Put(':id/cohort')
  @Can('upload', 'Bid')
  @StreamedBody('text/plain')
  @ApiBody({ description: 'NHS numbers of the consenting cohort, one a line', schema: { type: 'string' } })
  @ApiOkResponse({ type: CohortUploadDto })
  @ApiBadRequestResponse({ description: 'INVALID_NHS_NUMBERS with details.badLines (line numbers only)' })
  @ApiConflictResponse({ description: 'COHORT_NOT_ALLOWED (not a consent bid) or BID_NOT_EDITABLE' })
  async cohort(
    @CurrentUser() user: Principal,
    @BidIdParam() id: string,
    @Req() req: { body: unknown },
    @ReqMeta() meta: RequestMeta,
  ): Promise<CohortUploadDto> {
    return this.cohorts.upload(user, id, req.body as NodeJS.ReadableStream, meta);
  }

  @Post(':id/submit')
  @HttpCode(200)
  @Can('submit', 'Bid')
  @ApiOkResponse({ type: BidDto })
  @ApiConflictResponse({ description: 'ILLEGAL_TRANSITION, CONSENT_COHORT_REQUIRED' })
  async submit(
    @CurrentUser() user: Principal,
    @BidIdParam() id: string,
    @ReqMeta() meta: RequestMeta,
  ): Promise<BidDto> {
    return toBidResponse(await this.bids.submit(user, id, meta));
  }

  @Post(':id/withdraw')
  @HttpCode(200)
  @Can('withdraw', 'Bid')
  @ApiOkResponse({ type: BidDto })
  @ApiConflictResponse({ description: 'ILLEGAL_TRANSITION: only before approval' })
  async withdraw(
    @CurrentUser() user: Principal,
    @BidIdParam() id: string,
    @Body() dto: RemarksDto,
    @ReqMeta() meta: RequestMeta,
  ): Promise<BidDto> {
    return toBidResponse(await this.bids.withdraw(user, id, dto.remarks, meta));
  }

  @Post(':id/agreement/accept')
  @HttpCode(200)
  @Can('accept', 'Agreement')
  @ApiOkResponse({ type: BidDto })
  @ApiConflictResponse({ description: 'ILLEGAL_TRANSITION: only approved bids' })
  async accept(
    @CurrentUser() user: Principal,
    @BidIdParam() id: string,
    @ReqMeta() meta: RequestMeta,
  ): Promise<BidDto> {
    return toBidResponse(await this.bids.acceptAgreement(user, id, meta));
  }

  @Post(':id/revoke')
  @HttpCode(200)
  @Can('revoke', 'Agreement')
  @ApiOkResponse({ type: BidDto })
  @ApiConflictResponse({ description: 'ILLEGAL_TRANSITION: only approved or active bids' })
  async revoke(
    @CurrentUser() user: Principal,
    @BidIdParam() id: string,
    @Body() dto: RevokeBidDto,
    @ReqMeta() meta: RequestMeta,
  ): Promise<BidDto> {
    return toBidResponse(await this.bids.revoke(user, id, dto.reason, meta));
  }

  @Post(':id/close')
  @HttpCode(200)
  @Can('withdraw', 'Agreement')
  @ApiOkResponse({
    type: BidDto,
    description: 'The applicant ends an active agreement early; releases are destroyed',
  })
  @ApiConflictResponse({ description: 'ILLEGAL_TRANSITION: only active bids' })
  async close(
    @CurrentUser() user: Principal,
    @BidIdParam() id: string,
    @Body() dto: RemarksDto,
    @ReqMeta() meta: RequestMeta,
  ): Promise<BidDto> {
    return toBidResponse(await this.bids.close(user, id, dto.remarks, meta));
  }

  @Get(':id/events')
  @Can('read', 'Bid')
  @ApiOkResponse({
    type: [BidEventDto],
    description: 'Applicants never see individual votes or internal notes',
  })
  @Header('content-type', 'application/json; charset=utf-8')
  events(@CurrentUser() user: Principal, @BidIdParam() id: string): Promise<Buffer> {
    // PostgreSQL writes the JSON (BidEventDto[]): no entity hydration, no mapping, no stringify.
    return this.bids.eventsBody(user, id);
  }
}
