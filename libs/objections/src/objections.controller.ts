import { Body, Controller, Get, Post } from '@nestjs/common';
import { ApiCreatedResponse, ApiNotFoundResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { Can, CurrentUser, Principal, ReqMeta, RequestMeta } from '@custodian/core';
import { ObjectionEventDto, ObjectionSummaryDto, RecordObjectionDto } from './dto';
import { ObjectionsService } from './objections.service';

@ApiTags('objections')
@Controller('objections')
export class ObjectionsController {
  constructor(private readonly objections: ObjectionsService) {}

  /**
   * A practice registers a Type 1 / Type 2 objection (any NHS number), or withdraws one it recorded
   * or of a patient currently registered with it (else 404 `OBJECTION_NOT_FOUND`, as for a number
   * never seen).
   */
  @Post()
  @Can('create', 'Objection')
  @ApiCreatedResponse({ type: ObjectionEventDto })
  @ApiNotFoundResponse({
    description:
      'OBJECTION_NOT_FOUND: a withdrawal this practice may not make, of nothing active, or of an NHS number the centre does not know (all alike)',
  })
  record(
    @CurrentUser() user: Principal,
    @Body() dto: RecordObjectionDto,
    @ReqMeta() meta: RequestMeta,
  ): Promise<ObjectionEventDto> {
    return this.objections.record(user, dto, meta);
  }

  /** The calling practice's objection counts (no NHS numbers). */
  @Get('summary')
  @Can('read', 'Objection')
  @ApiOkResponse({ type: ObjectionSummaryDto })
  summary(@CurrentUser() user: Principal): Promise<ObjectionSummaryDto> {
    return this.objections.summary(user);
  }
}
