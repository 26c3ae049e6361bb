import { Body, Controller, Post } from '@nestjs/common';
import { ApiCreatedResponse, ApiTags } from '@nestjs/swagger';
import { Can, CurrentUser, Principal, ReqMeta, RequestMeta } from '@custodian/core';
import { ObjectionEventDto, RecordObjectionDto } from './dto';
import { ObjectionsService } from './objections.service';

@ApiTags('objections')
@Controller('objections')
export class ObjectionsController {
  constructor(private readonly objections: ObjectionsService) {}

  /** A practice registers or withdraws a Type 1 / Type 2 objection for one of its patients. */
  @Post()
  @Can('create', 'Objection')
  @ApiCreatedResponse({ type: ObjectionEventDto })
  record(
    @CurrentUser() user: Principal,
    @Body() dto: RecordObjectionDto,
    @ReqMeta() meta: RequestMeta,
  ): Promise<ObjectionEventDto> {
    return this.objections.record(user, dto, meta);
  }
}
