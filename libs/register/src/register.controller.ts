import { Controller, Get, Query, Res } from '@nestjs/common';
import { ApiExtraModels, ApiOkResponse, ApiTags, getSchemaPath } from '@nestjs/swagger';
import { Public } from '@custodian/core';
import { RegisterLineDto, RegisterQueryDto } from './dto';
import { REGISTER_CSV_COLUMNS, RegisterService, toCsv } from './register.service';

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
  @ApiExtraModels(RegisterLineDto)
  @ApiOkResponse({
    description:
      'One line per approved bid and per release: JSON, or with `?format=csv` a CSV file of the same lines',
    content: {
      'application/json': { schema: { type: 'array', items: { $ref: getSchemaPath(RegisterLineDto) } } },
      'text/csv': {
        schema: { type: 'string' },
        example: `${REGISTER_CSV_COLUMNS.join(',')}\r\n`,
      },
    },
  })
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
