import { Body, Controller, Get, HttpCode, Patch, Post } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiTags,
} from '@nestjs/swagger';
import { BidIdParam, VersionParam } from './route-params';
import { Can, CurrentUser, Principal, ReqMeta, RequestMeta } from '@custodian/core';
import { AmendmentDto, CreateAmendmentDto, UpdateAmendmentDto } from './amendment.dto';
import { BidAmendmentsService } from './bid-amendments.service';
import { RemarksDto } from './dto';

/**
 * Amendments of an approved or active bid (#25), the applicant's side and reading; screening and
 * votes on them are governance's (AmendmentReviewController). docs/API.md describes the flow.
 */
@ApiTags('bids')
@ApiNotFoundResponse({
  description: 'No such bid or amendment, or not one you may see (another organisation’s bid is 404)',
})
@Controller('bids/:id/amendments')
export class BidAmendmentsController {
  constructor(private readonly amendments: BidAmendmentsService) {}

  @Post()
  @Can('update', 'Bid')
  @ApiCreatedResponse({ type: AmendmentDto })
  @ApiBadRequestResponse({
    description: 'Invalid body, AMENDMENT_EMPTY (nothing changes), field outside the catalogue…',
  })
  @ApiConflictResponse({
    description: 'NOT_AMENDABLE (the bid is not approved or active), AMENDMENT_OPEN (one is already open)',
  })
  create(
    @CurrentUser() user: Principal,
    @BidIdParam() id: string,
    @Body() dto: CreateAmendmentDto,
    @ReqMeta() meta: RequestMeta,
  ): Promise<AmendmentDto> {
    return this.amendments.create(user, id, dto, meta);
  }

  @Get()
  @Can('read', 'Bid')
  @ApiOkResponse({ type: [AmendmentDto], description: 'Newest first; drafts only to the applicant' })
  list(@CurrentUser() user: Principal, @BidIdParam() id: string): Promise<AmendmentDto[]> {
    return this.amendments.list(user, id);
  }

  @Get(':version')
  @Can('read', 'Bid')
  @ApiOkResponse({ type: AmendmentDto })
  get(
    @CurrentUser() user: Principal,
    @BidIdParam() id: string,
    @VersionParam() version: number,
  ): Promise<AmendmentDto> {
    return this.amendments.get(user, id, version);
  }

  @Patch(':version')
  @Can('update', 'Bid')
  @ApiOkResponse({ type: AmendmentDto })
  @ApiConflictResponse({ description: 'BID_NOT_EDITABLE: only draft and returned amendments are edited' })
  update(
    @CurrentUser() user: Principal,
    @BidIdParam() id: string,
    @VersionParam() version: number,
    @Body() dto: UpdateAmendmentDto,
    @ReqMeta() meta: RequestMeta,
  ): Promise<AmendmentDto> {
    return this.amendments.update(user, id, version, dto, meta);
  }

  @Post(':version/submit')
  @HttpCode(200)
  @Can('submit', 'Bid')
  @ApiOkResponse({ type: AmendmentDto })
  @ApiConflictResponse({ description: 'ILLEGAL_TRANSITION, NOT_AMENDABLE' })
  submit(
    @CurrentUser() user: Principal,
    @BidIdParam() id: string,
    @VersionParam() version: number,
    @ReqMeta() meta: RequestMeta,
  ): Promise<AmendmentDto> {
    return this.amendments.submit(user, id, version, meta);
  }

  @Post(':version/withdraw')
  @HttpCode(200)
  @Can('withdraw', 'Bid')
  @ApiOkResponse({ type: AmendmentDto })
  @ApiConflictResponse({ description: 'ILLEGAL_TRANSITION: only before approval' })
  withdraw(
    @CurrentUser() user: Principal,
    @BidIdParam() id: string,
    @VersionParam() version: number,
    @Body() dto: RemarksDto,
    @ReqMeta() meta: RequestMeta,
  ): Promise<AmendmentDto> {
    return this.amendments.withdraw(user, id, version, dto.remarks, meta);
  }
}
