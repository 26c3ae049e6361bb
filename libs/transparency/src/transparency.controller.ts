import { Controller, Get, Param, Query, Res } from '@nestjs/common';
import { ApiOkResponse, ApiTags, getSchemaPath, ApiExtraModels } from '@nestjs/swagger';
import { Can, CurrentUser, type Principal, Public, ParseUUIDPipe } from '@custodian/core';
import { ClockDto, QueueItemDto, StatisticsDto, StatisticsQueryDto } from './dto';
import { STATISTICS_CSV_COLUMNS, statisticsCsv, TransparencyService } from './transparency.service';

interface Reply {
  header(name: string, value: string): Reply;
}

@ApiTags('transparency')
@Controller()
export class TransparencyController {
  constructor(private readonly transparency: TransparencyService) {}

  /** Published turnaround and release statistics per month: JSON, or CSV with `?format=csv`. */
  @Get('statistics')
  @Public()
  @ApiExtraModels(StatisticsDto)
  @ApiOkResponse({
    description: 'Per month: requests, decisions, turnaround, releases, objections; JSON or CSV',
    content: {
      'application/json': { schema: { $ref: getSchemaPath(StatisticsDto) } },
      'text/csv': { schema: { type: 'string' }, example: `${STATISTICS_CSV_COLUMNS.join(',')}\r\n` },
    },
  })
  async statistics(
    @Query() q: StatisticsQueryDto,
    @Res({ passthrough: true }) reply: Reply,
  ): Promise<StatisticsDto | string> {
    const s = await this.transparency.statistics(q);
    if (q.format !== 'csv') return s;
    reply.header('content-type', 'text/csv; charset=utf-8');
    reply.header('content-disposition', 'attachment; filename="statistics.csv"');
    return statisticsCsv(s);
  }

  /** How long the request has been in its stage and in total, against the targets. */
  @Get('bids/:id/clock')
  @Can('read', 'Bid')
  @ApiOkResponse({ type: ClockDto })
  clock(@CurrentUser() user: Principal, @Param('id', ParseUUIDPipe) id: string): Promise<ClockDto> {
    return this.transparency.clock(user, id);
  }

  /** The caller's queue (release officer: screening; panel member: review), overdue first. */
  @Get('queue')
  @Can('read', 'Bid')
  @ApiOkResponse({ type: [QueueItemDto] })
  queue(@CurrentUser() user: Principal): Promise<QueueItemDto[]> {
    return this.transparency.queue(user);
  }
}
