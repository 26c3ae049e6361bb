import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, Matches } from 'class-validator';

const ISO_MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;

export class StatisticsQueryDto {
  @ApiPropertyOptional({ enum: ['json', 'csv'], default: 'json' })
  @IsOptional()
  @IsIn(['json', 'csv'])
  format?: 'json' | 'csv';
  @ApiPropertyOptional({
    example: '2026-01',
    description:
      'First month (default: eleven months before `to`); at most 240 months before `to`, never after it',
  })
  @IsOptional()
  @Matches(ISO_MONTH)
  from?: string;
  @ApiPropertyOptional({ example: '2026-12', description: 'Last month (default: this month)' })
  @IsOptional()
  @Matches(ISO_MONTH)
  to?: string;
}

export class TargetDto {
  @ApiProperty({ enum: ['screening', 'decision'] }) name!: string;
  @ApiProperty({ type: 'integer' }) limit!: number;
  @ApiProperty({ enum: ['working_days', 'days'] }) unit!: string;
  @ApiProperty({ format: 'date-time' }) due!: string;
  @ApiProperty() overdue!: boolean;
}

export class StageClockDto {
  @ApiProperty({ format: 'date-time', description: 'When the request entered its current state' })
  since!: string;
  @ApiProperty({ type: 'integer', minimum: 0 }) days!: number;
  @ApiProperty({ type: 'integer', minimum: 0, description: 'Monday to Friday; bank holidays not excluded' })
  workingDays!: number;
  @ApiProperty({ type: TargetDto, nullable: true }) target!: TargetDto | null;
}

export class TotalClockDto {
  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'First submission' })
  since!: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'The decision, or now' })
  until!: string | null;
  @ApiProperty({ type: 'integer', minimum: 0 }) days!: number;
  @ApiProperty({ type: 'integer', minimum: 0 }) workingDays!: number;
  @ApiProperty({ type: TargetDto, nullable: true }) target!: TargetDto | null;
}

export class ClockDto {
  @ApiProperty() state!: string;
  @ApiProperty({ type: StageClockDto }) stage!: StageClockDto;
  @ApiProperty({ type: TotalClockDto }) total!: TotalClockDto;
  @ApiProperty({ description: 'A target passed while the request waits on the centre' }) overdue!: boolean;
}

export class QueueItemDto {
  @ApiProperty({ format: 'uuid' }) bidId!: string;
  @ApiProperty() title!: string;
  @ApiProperty({ type: ClockDto }) clock!: ClockDto;
}

export class ReleasesByTierDto {
  @ApiProperty({ enum: ['identifiable', 'pseudonymised', 'anonymised', 'aggregate'] }) tier!: string;
  @ApiProperty({ enum: ['consent', 's251', 'public_health_emergency', 'statutory', 'none'] })
  legalBasis!: string;
  @ApiProperty({ type: 'integer', minimum: 1 }) releases!: number;
}

export class ObjectionShareDto {
  @ApiProperty({ format: 'uuid' }) releaseId!: string;
  @ApiProperty({
    oneOf: [
      { type: 'integer', minimum: 0, maximum: 100 },
      { type: 'string', enum: ['*'] },
    ],
    description: 'Whole percentage of the release population that objections removed; * for 0-7 persons',
  })
  removedShare!: number | '*';
}

export class MonthStatisticsDto {
  @ApiProperty({ example: '2026-03' }) month!: string;
  @ApiProperty({ type: 'integer', minimum: 0, description: 'Requests first submitted' }) received!: number;
  @ApiProperty({ type: 'integer', minimum: 0, description: 'Panel decisions (approve, reject, return)' })
  decided!: number;
  @ApiProperty({ type: 'integer', minimum: 0 }) approved!: number;
  @ApiProperty({ type: 'integer', minimum: 0 }) rejected!: number;
  @ApiProperty({ type: 'integer', minimum: 0, description: 'Returns at screening or by the panel' })
  returned!: number;
  @ApiProperty({ type: Number, nullable: true }) screeningMedianDays!: number | null;
  @ApiProperty({ type: Number, nullable: true }) screeningP90Days!: number | null;
  @ApiProperty({ type: Number, nullable: true }) decisionMedianDays!: number | null;
  @ApiProperty({ type: Number, nullable: true }) decisionP90Days!: number | null;
  @ApiProperty({ type: Number, nullable: true }) firstReleaseMedianDays!: number | null;
  @ApiProperty({ type: Number, nullable: true }) firstReleaseP90Days!: number | null;
  @ApiProperty({ type: [ReleasesByTierDto] }) releases!: ReleasesByTierDto[];
  @ApiProperty({ type: [ObjectionShareDto] }) objectionShares!: ObjectionShareDto[];
}

export class TargetsDto {
  @ApiProperty({ type: 'integer' }) screeningWorkingDays!: number;
  @ApiProperty({ type: 'integer' }) decisionDays!: number;
}

export class ObjectionsInForceDto {
  @ApiProperty({
    oneOf: [
      { type: 'integer', minimum: 0 },
      { type: 'string', enum: ['*'] },
    ],
  })
  type1!: number | '*';
  @ApiProperty({
    oneOf: [
      { type: 'integer', minimum: 0 },
      { type: 'string', enum: ['*'] },
    ],
  })
  type2!: number | '*';
}

export class StatisticsDto {
  @ApiProperty({ format: 'date-time' }) generatedAt!: string;
  @ApiProperty({ type: TargetsDto }) targets!: TargetsDto;
  @ApiProperty({
    type: ObjectionsInForceDto,
    description: 'Rounded: 1-7 shown as *, others to the nearest 5',
  })
  objectionsInForce!: ObjectionsInForceDto;
  @ApiProperty({ type: [MonthStatisticsDto] }) months!: MonthStatisticsDto[];
  @ApiProperty() notes!: string;
}
