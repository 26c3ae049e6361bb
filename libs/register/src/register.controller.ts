import { Controller, Get, Query, Res } from '@nestjs/common';
import { ApiExtraModels, ApiOkResponse, ApiTags, getSchemaPath } from '@nestjs/swagger';
import { Public } from '@custodian/core';
import {
  AuditHashesDto,
  AuditHashesQueryDto,
  CheckpointDto,
  CheckpointPageDto,
  PublicKeyDto,
  RegisterLineDto,
  RegisterLogPageDto,
  RegisterPageQueryDto,
  RegisterQueryDto,
} from './dto';
import { RegisterLogService } from './register-log.service';
import { REGISTER_CSV_COLUMNS, RegisterService, toCsv } from './register.service';

interface Reply {
  header(name: string, value: string): Reply;
}

@ApiTags('register')
@Controller('register')
export class RegisterController {
  constructor(
    private readonly register: RegisterService,
    private readonly registerLog: RegisterLogService,
  ) {}

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
  ): Promise<Buffer | string> {
    const { lines, json } = await this.register.answer(q);
    if (q.format !== 'csv') {
      // RegisterLineDto[], encoded once while the register does not change (RegisterService.answer).
      reply.header('content-type', 'application/json; charset=utf-8');
      return json;
    }
    reply.header('content-type', 'text/csv; charset=utf-8');
    reply.header('content-disposition', 'attachment; filename="register.csv"');
    return toCsv(lines);
  }

  /** The centre's Ed25519 public key that signs register checkpoints (docs/TRANSPARENCY.md). */
  @Get('public-key')
  @Public()
  @ApiOkResponse({ type: PublicKeyDto })
  publicKey(): PublicKeyDto {
    return this.registerLog.publicKey();
  }

  /** The audit chain's and the register log's length and head hash now, signed. */
  @Get('checkpoint')
  @Public()
  @ApiOkResponse({ type: CheckpointDto })
  checkpoint(): Promise<CheckpointDto> {
    return this.registerLog.checkpoint();
  }

  /** Every checkpoint kept (one per release and one a day), oldest first: each must extend the one before. */
  @Get('checkpoints')
  @Public()
  @ApiOkResponse({ type: CheckpointPageDto })
  checkpoints(@Query() q: RegisterPageQueryDto): Promise<CheckpointPageDto> {
    return this.registerLog.checkpoints(q.page, q.limit);
  }

  /** The register log: each release line with its chain hashes and its audit entry's hash, in order. */
  @Get('log')
  @Public()
  @ApiOkResponse({ type: RegisterLogPageDto })
  log(@Query() q: RegisterPageQueryDto): Promise<RegisterLogPageDto> {
    return this.registerLog.log(q.page, q.limit);
  }

  /** Hashes of the audit chain by position (hashes only, never an entry's content). */
  @Get('audit-hashes')
  @Public()
  @ApiOkResponse({ type: AuditHashesDto })
  auditHashes(@Query() q: AuditHashesQueryDto): Promise<AuditHashesDto> {
    return this.registerLog.auditHashes(q.from, q.limit);
  }
}
