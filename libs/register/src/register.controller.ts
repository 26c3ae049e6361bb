import { Controller, Get, Query, Res } from '@nestjs/common';
import { ApiOkResponse, ApiProduces, ApiTags } from '@nestjs/swagger';
import { Public } from '@custodian/core';
import { RegisterLineDto, RegisterQueryDto } from './dto';
import { RegisterService, toCsv } from './register.service';

interface Reply {
  header(name: string, value: string): Reply;
}

@ApiTags('register')
@Controller('register')
export class RegisterController {
  constructor(private readonly register: RegisterService) {}

  /** The public register of approved bids and releases: JSON, or CSV with `?format=csv`. */
  @Get()
  @Public()
  @ApiProduces('application/json', 'text/csv')
  @ApiOkResponse({ type: [RegisterLineDto] })
  async get(
    @Query() q: RegisterQueryDto,
    @Res({ passthrough: true }) reply: Reply,
  ): Promise<RegisterLineDto[] | string> {
    const lines = await this.register.lines(q);
    if (q.format !== 'csv') return lines;
    reply.header('content-type', 'text/csv; charset=utf-8');
    reply.header('content-disposition', 'attachment; filename="register.csv"');
    return toCsv(lines);
  }
}
