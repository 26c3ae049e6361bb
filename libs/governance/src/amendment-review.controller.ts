import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiTags,
} from '@nestjs/swagger';
import { Can, CurrentUser, Principal, ReqMeta, RequestMeta } from '@custodian/core';
import { AmendmentDto, BidIdParam, VersionParam } from '@custodian/bids';
import { AmendmentReviewService } from './amendment-review.service';
import { AmendmentVoteResultDto, ScreenAmendmentDto, VoteDto } from './dto';

/** The reviewers' routes on an amendment (#25): screening (and the officer's approval of a narrowing), votes. */
@ApiTags('bids')
@ApiNotFoundResponse({
  description: 'No such bid or amendment, or not one you may see (a draft amendment is its applicant’s)',
})
@Controller('bids/:id/amendments/:version')
export class AmendmentReviewController {
  constructor(private readonly review: AmendmentReviewService) {}

  @Post('screen')
  @HttpCode(200)
  @Can('screen', 'Bid')
  @ApiOkResponse({ type: AmendmentDto })
  @ApiConflictResponse({
    description:
      'ILLEGAL_TRANSITION (only submitted amendments are screened), AMENDMENT_WIDENS (an officer approves only a narrowing), NOT_AMENDABLE',
  })
  screen(
    @CurrentUser() user: Principal,
    @BidIdParam() id: string,
    @VersionParam() version: number,
    @Body() dto: ScreenAmendmentDto,
    @ReqMeta() meta: RequestMeta,
  ): Promise<AmendmentDto> {
    return this.review.screen(user, id, version, dto, meta);
  }

  @Post('votes')
  @Can('vote', 'Bid')
  @ApiCreatedResponse({ type: AmendmentVoteResultDto })
  @ApiConflictResponse({ description: 'ILLEGAL_TRANSITION (not in review), ALREADY_VOTED' })
  @ApiBadRequestResponse({ description: 'AMENDMENT_TIER_FIXED: an amendment keeps the tier in force' })
  vote(
    @CurrentUser() user: Principal,
    @BidIdParam() id: string,
    @VersionParam() version: number,
    @Body() dto: VoteDto,
    @ReqMeta() meta: RequestMeta,
  ): Promise<AmendmentVoteResultDto> {
    return this.review.vote(user, id, version, dto, meta);
  }
}
