import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import type { SourceKind } from './source-formats';

const STEPS_EXAMPLE = { '1': 812, '2': 40, '3': 9, '4': 3, '5': 11, '6': 25, '7': 7, '8': 2 };

export class RejectedRowDto {
  @ApiProperty({ description: 'Data row, 1-based, header excluded', example: 17 }) row!: number;
  @ApiProperty({
    example: 'invalid_nhs_number',
    description: 'the first reason (rejectedByReason counts these)',
  })
  reason!: string;
  @ApiPropertyOptional({
    type: [String],
    example: ['invalid_nhs_number', 'invalid_dob'],
    description:
      'every reason the row was rejected for, the first one first (absent from reports stored before it was kept)',
  })
  reasons?: string[];
}

/** The upload's response and the load's stored report (SPEC §7). */
export class LinkageReport {
  @ApiProperty({ format: 'uuid', description: 'The load (GET /api/sources/loads/:id)' }) id!: string;
  @ApiProperty({ description: 'Data rows in the file (header excluded), rejected ones included' })
  rows!: number;
  @ApiProperty({ description: 'Loaded rows linked at each step 1..8', example: STEPS_EXAMPLE })
  linkedByStep!: Record<string, number>;
  @ApiProperty({ description: 'Loaded rows linked to no patient' }) unlinked!: number;
  @ApiProperty({
    type: [RejectedRowDto],
    description:
      'the rejected rows with the lowest row numbers (at most 1000; rejectedCount counts them all)',
  })
  rejected!: RejectedRowDto[];
  @ApiProperty({ description: 'every rejected row' }) rejectedCount!: number;
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'integer' },
    description: 'rejected rows by reason',
  })
  rejectedByReason!: Record<string, number>;
}

export class SourceLoadSummary {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ enum: ['hes', 'social_care'] }) kind!: SourceKind;
  @ApiProperty() createdAt!: Date;
  @ApiProperty({ type: String, format: 'uuid', nullable: true }) uploadedBy!: string | null;
  @ApiProperty() rows!: number;
  @ApiProperty({ example: STEPS_EXAMPLE }) linkedByStep!: Record<string, number>;
  @ApiProperty() unlinked!: number;
  @ApiProperty() rejectedCount!: number;
}

export class ListLoadsQuery {
  @ApiProperty({ enum: ['hes', 'social_care'], required: false })
  @IsOptional()
  @IsIn(['hes', 'social_care'])
  kind?: SourceKind;
}
