import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { Can, CurrentUser, Principal, ReqMeta, RequestMeta } from '@custodian/core';
import { BidDto, toBidResponse, BidIdParam } from '@custodian/bids';
import { ScreenBidDto, VoteDto, VoteResultDto } from './dto';
import { GOVERNANCE_ERRORS } from './governance.errors';
import { PanelService } from './panel.service';
import { ScreeningService } from './screening.service';

/**
 * The reviewers' routes on a bid: screening and votes. Their operation ids are the ones they had
 * under BidsController, so clients generated from the OpenAPI document keep working.
 */
@ApiTags('bids')
@ApiNotFoundResponse({
  description: 'No such bid, or not one you may see (another organisation’s bid is 404)',
})
@Controller('bids')
export class PanelController {
  constructor(
    private readonly screening: ScreeningService,
    private readonly panel: PanelService,
  ) {}

  @Post(':id/screen')
  @HttpCode(200)
  @Can('screen', 'Bid')
  @ApiOperation({ operationId: 'BidsController_screen' })
  @ApiOkResponse({ type: BidDto })
  @ApiConflictResponse({ description: 'ILLEGAL_TRANSITION: only submitted bids are screened' })
  async screen(
    @CurrentUser() user: Principal,
    @BidIdParam() id: string,
    @Body() dto: ScreenBidDto,
    @ReqMeta() meta: RequestMeta,
  ): Promise<BidDto> {
    return toBidResponse(await this.screening.screen(user, id, dto, meta));
  }

  @Post(':id/votes')
  @Can('vote', 'Bid')
  @ApiOperation({ operationId: 'BidsController_vote' })
  @ApiCreatedResponse({ type: VoteResultDto })
  @ApiConflictResponse({ description: 'ILLEGAL_TRANSITION (not in review), ALREADY_VOTED' })
  @ApiBadRequestResponse({ description: GOVERNANCE_ERRORS.TIER_ABOVE_REQUEST })
  async vote(
    @CurrentUser() user: Principal,
    @BidIdParam() id: string,
    @Body() dto: VoteDto,
    @ReqMeta() meta: RequestMeta,
  ): Promise<VoteResultDto> {
    return this.panel.vote(user, id, dto, meta);
  }
}
