import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/** The response shapes of the release routes, for the OpenAPI document (SPEC §7). */
export class ReleaseFileDto {
  @ApiProperty({ example: 'gp.csv.gz' }) name!: string;
  @ApiProperty({ type: 'integer', minimum: 0 }) rows!: number;
  @ApiProperty({ type: 'integer', minimum: 0 }) bytes!: number;
  @ApiProperty({ pattern: '^[0-9a-f]{64}$' }) sha256!: string;
}

export class ReleaseProgressDto {
  @ApiProperty({ type: 'integer', minimum: 0 }) rowsDone!: number;
  @ApiProperty({
    type: 'integer',
    minimum: 0,
    nullable: true,
    description:
      'Rows expected; null (not shown) for recipients of an aggregate release, and of an anonymised release until it completes',
  })
  rowsEstimated!: number | null;
}

export class ReleaseViewDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'uuid' }) bidId!: string;
  @ApiProperty({ enum: ['queued', 'running', 'completed', 'failed'] }) state!: string;
  @ApiProperty({ type: ReleaseProgressDto }) progress!: ReleaseProgressDto;
  @ApiProperty({
    enum: ['queued', 'preparing', 'writing', 'verifying', 'completed', 'failed'],
    description:
      'queued; preparing (cohort, objections); writing (rows of those expected); verifying (independent check); completed or failed',
  })
  phase!: string;
  @ApiProperty({ type: Date, description: 'When the release was asked for' }) createdAt!: Date;
  @ApiProperty({ type: Date, nullable: true, description: 'When a worker started it' })
  startedAt!: Date | null;
  @ApiProperty({ type: Date, nullable: true, description: 'When it completed' }) completedAt!: Date | null;
  @ApiProperty({ enum: ['identifiable', 'pseudonymised', 'anonymised', 'aggregate'] }) tier!: string;
  @ApiProperty({
    type: [ReleaseFileDto],
    description: 'Empty until the release is completed; kept as a record once the files are deleted',
  })
  files!: ReleaseFileDto[];
  @ApiProperty({
    description:
      'Whether the files may be downloaded: false once the agreement ended (revoked, expired or closed)',
  })
  downloadable!: boolean;
  @ApiProperty({
    type: Date,
    nullable: true,
    description: 'When the files were deleted because the agreement ended, or null',
  })
  destroyedAt!: Date | null;
  @ApiPropertyOptional({
    description:
      'Why the release failed: counts of persons by the aggregate rule for recipients, exact for staff',
  })
  failureReason?: string;
  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description: 'Release officers and auditors only: exact counts of what was left out, and why',
  })
  excluded?: Record<string, unknown>;
  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description: 'Staff only: the release manifest (also a file of a completed release)',
  })
  manifest?: Record<string, unknown>;
  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description:
      'Risk and linkage report of a completed release (docs/TRANSPARENCY.md): exact figures for staff; for recipients counts 0-7 shown as *, others rounded to 5, percentages whole, no linkage figures for an aggregate table',
  })
  riskReport?: Record<string, unknown>;
}

export class ReleaseQueuedDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ enum: ['queued'] }) state!: string;
}
