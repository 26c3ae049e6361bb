import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { IsInt, IsOptional, IsString, IsUUID, Max, MaxLength, Min } from 'class-validator';
import {
  Can,
  CurrentUser,
  DecimalInt,
  instantDate,
  IsInstant,
  IsPageNumber,
  NotBefore,
  type Principal,
} from '@custodian/core';
import { AuditService } from './audit.service';

export class AuditQueryDto {
  @ApiPropertyOptional() @IsOptional() @IsUUID() bidId?: string;
  @ApiPropertyOptional() @IsOptional() @IsUUID() actorId?: string;
  @ApiPropertyOptional({ example: 'auth.login' }) @IsOptional() @IsString() @MaxLength(80) action?: string;
  @ApiPropertyOptional({ example: 'denied', description: 'success, failure, denied, or a decision' })
  @IsOptional()
  @IsString()
  @MaxLength(40)
  outcome?: string;
  @ApiPropertyOptional({
    type: String,
    format: 'date-time',
    description: 'A date-time with its zone, or a date (midnight UTC); years 1800 to 2999',
  })
  @IsOptional()
  @IsInstant()
  from?: string;
  @ApiPropertyOptional({
    type: String,
    format: 'date-time',
    description: 'A date-time with its zone, or a date (midnight UTC); years 1800 to 2999; not before `from`',
  })
  @IsOptional()
  @IsInstant()
  @NotBefore('from')
  to?: string;
  @IsPageNumber() page: number = 1;
  @ApiPropertyOptional({ default: 50, maximum: 500 })
  @IsOptional()
  @DecimalInt()
  @IsInt()
  @Min(1)
  @Max(500)
  limit: number = 50;
}

export class VerifyResponseDto {
  @ApiProperty() ok!: boolean;
  @ApiProperty() checked!: number;
  @ApiPropertyOptional({
    example: { id: '42', reason: 'hash_mismatch' },
    description:
      'The first entry that does not verify (`hash_mismatch`, `broken_link`); `truncated`: the position the latest signed register checkpoint holds as the head is no longer in the trail (entries were deleted from its end); `checkpoint_mismatch`: the entry there is not the one the checkpoint signed; `checkpoint_forged`: the signature of the latest checkpoint does not verify (its figures were rewritten)',
  })
  firstBroken?: {
    id: string;
    reason: string;
  };
}

export class AuditEntryDto {
  @ApiProperty({ pattern: '^[0-9]+$', description: 'Position in the chain' }) id!: string;
  @ApiProperty({ type: String, format: 'date-time' }) at!: Date;
  @ApiProperty({ type: String, format: 'uuid', nullable: true }) actorId!: string | null;
  @ApiProperty({ type: [String] }) actorRoles!: string[];
  @ApiProperty({ example: 'bid.submit' }) action!: string;
  @ApiProperty({ example: 'success' }) outcome!: string;
  @ApiProperty({ type: String, format: 'uuid', nullable: true }) bidId!: string | null;
  @ApiProperty({ type: String, nullable: true }) subjectType!: string | null;
  @ApiProperty({ type: String, nullable: true }) subjectId!: string | null;
  @ApiProperty({ type: String, nullable: true }) requestId!: string | null;
  @ApiProperty({ type: String, nullable: true }) ip!: string | null;
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: 'Ids, counts, codes and states only: never patient data or secrets',
  })
  details!: Record<string, unknown>;
  @ApiProperty({ description: 'Hash of the previous entry (SHA-256, hex)' }) prevHash!: string;
  @ApiProperty({ description: "This entry's hash, over the previous hash and its own content" })
  hash!: string;
}

export class AuditPageDto {
  @ApiProperty({ type: [AuditEntryDto] }) items!: AuditEntryDto[];
  @ApiProperty({ type: 'integer', minimum: 1 }) page!: number;
  @ApiProperty({ type: 'integer', minimum: 1, maximum: 500 }) limit!: number;
  @ApiProperty({ type: 'integer', minimum: 0 }) total!: number;
}

@ApiTags('audit')
@Controller('audit')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  @Can('read', 'Audit')
  @ApiOkResponse({ type: AuditPageDto })
  list(@Query() q: AuditQueryDto, @CurrentUser() viewer: Principal) {
    return this.audit.list(
      {
        ...q,
        from: q.from === undefined ? undefined : instantDate(q.from),
        to: q.to === undefined ? undefined : instantDate(q.to),
      },
      viewer,
    );
  }

  @Get('verify')
  @Can('verify', 'Audit')
  @ApiOkResponse({ type: VerifyResponseDto })
  verify(): Promise<VerifyResponseDto> {
    return this.audit.verify();
  }
}
