import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsDate, IsInt, IsOptional, IsString, IsUUID, Max, MaxLength, Min } from 'class-validator';
import { Can, IsPageNumber } from '@custodian/core';
import { AuditService } from './audit.service';

export class AuditQueryDto {
  @ApiPropertyOptional() @IsOptional() @IsUUID() bidId?: string;
  @ApiPropertyOptional() @IsOptional() @IsUUID() actorId?: string;
  @ApiPropertyOptional({ example: 'auth.login' }) @IsOptional() @IsString() @MaxLength(80) action?: string;
  @ApiPropertyOptional({ type: String, format: 'date-time' })
  @IsOptional()
  @Type(() => Date)
  @IsDate()
  from?: Date;
  @ApiPropertyOptional({ type: String, format: 'date-time' })
  @IsOptional()
  @Type(() => Date)
  @IsDate()
  to?: Date;
  @IsPageNumber() page: number = 1;
  @ApiPropertyOptional({ default: 50, maximum: 500 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(500)
  limit: number = 50;
}

export class VerifyResponseDto {
  @ApiProperty() ok!: boolean;
  @ApiProperty() checked!: number;
  @ApiPropertyOptional({ example: { id: '42', reason: 'hash_mismatch' } }) firstBroken?: {
    id: string;
    reason: string;
  };
}

@ApiTags('audit')
@Controller('audit')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  @Can('read', 'Audit')
  list(@Query() q: AuditQueryDto) {
    return this.audit.list(q);
  }

  @Get('verify')
  @Can('verify', 'Audit')
  @ApiOkResponse({ type: VerifyResponseDto })
  verify(): Promise<VerifyResponseDto> {
    return this.audit.verify();
  }
}
