import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsISO8601, IsString, Matches, MaxLength, MinLength, ValidateBy } from 'class-validator';
import { IsOdsCode, IsOmittable, IsPlainText } from '@custodian/core';
import { AWARENESS_EARLIEST, ROLLOUT_STATES, type Rollout } from './rollout';

export class CreatePracticeDto {
  @ApiProperty({ example: 'A81001' }) @IsOdsCode() odsCode!: string;
  // Visible text on one line, as an organisation's name: a name of spaces was stored as "" (probe 32).
  @ApiProperty({ example: 'The Densham Surgery' })
  @IsString()
  @MinLength(2)
  @IsPlainText(2)
  @MaxLength(200)
  name!: string;
  @ApiPropertyOptional({ enum: ROLLOUT_STATES, default: 'none' })
  @IsOmittable()
  @IsIn(ROLLOUT_STATES)
  rollout?: Rollout;
}

export class UpdatePracticeDto {
  @ApiPropertyOptional({ description: 'if given, must equal the code in the path' })
  @IsOmittable()
  @IsOdsCode()
  odsCode?: string;
  @ApiPropertyOptional()
  @IsOmittable()
  @IsString()
  @MinLength(2)
  @IsPlainText(2)
  @MaxLength(200)
  name?: string;
  @ApiPropertyOptional({ enum: ROLLOUT_STATES }) @IsOmittable() @IsIn(ROLLOUT_STATES) rollout?: Rollout;
}

export class AwarenessDto {
  @ApiProperty({
    example: '2026-01-05',
    description: `the day the practice started informing its patients: not before ${AWARENESS_EARLIEST}, not in the future`,
  })
  @Matches(/^\d{4}-\d{2}-\d{2}$/, { message: 'startedOn must be a date YYYY-MM-DD' })
  @IsISO8601({ strict: true })
  @ValidateBy(
    {
      name: 'isAwarenessDate',
      // YYYY-MM-DD strings order as the days they name; the future is refused by the service (its "today").
      validator: { validate: (v: unknown) => typeof v === 'string' && v >= AWARENESS_EARLIEST },
    },
    { message: `startedOn must be on or after ${AWARENESS_EARLIEST}` },
  )
  startedOn!: string;
  @ApiPropertyOptional({
    minLength: 10,
    maxLength: 500,
    description:
      'admins only, and required of them for a date before today or a change of a recorded date (audited)',
  })
  @IsOmittable()
  @IsString()
  @MinLength(10)
  @IsPlainText(10, { multiline: true })
  @MaxLength(500)
  reason?: string;
}

export class PracticeDto {
  @ApiProperty() odsCode!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ enum: ROLLOUT_STATES }) rollout!: Rollout;
  @ApiProperty({ type: String, nullable: true }) awarenessStartedOn!: string | null;
  @ApiProperty({ type: String, nullable: true, description: 'first day extracts are accepted' })
  extractsAcceptedFrom!: string | null;
}

export class NationalRolloutDto {
  @ApiProperty({ description: 'how many practices moved to national' }) moved!: number;
}

export class RejectedLineDto {
  @ApiProperty() line!: number;
  @ApiProperty() reason!: string;
}

export class ExtractReportDto {
  @ApiProperty() extractId!: string;
  @ApiProperty({ description: 'Patient rows stored new or changed by this extract' }) patients!: number;
  @ApiProperty({ description: 'clinical resources (gp_events) stored new or changed' }) resources!: number;
  @ApiProperty({
    type: [RejectedLineDto],
    description:
      'the refused lines with the lowest line numbers (at most 1000; rejectedCount counts them all)',
  })
  rejected!: RejectedLineDto[];
  @ApiProperty({ description: 'every refused line' }) rejectedCount!: number;
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'integer' },
    description: 'refused lines by reason (at most 100 reasons named; the rest under "(other reasons)")',
  })
  rejectedByReason!: Record<string, number>;
  @ApiProperty({ description: 'objection entries added to the register history' }) objections!: number;
  @ApiProperty({
    description:
      'what was not stored: {resources (types outside the specification), fields (total), byField {path: count}, type1: {patients, resources, heldDeleted}}',
  })
  dropped!: ExtractDropped;
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'integer' },
    example: {
      'Observation.status': 1200,
      'Condition.recordedDate': 310,
      'Patient.generalPractitioner': 500,
    },
    description:
      'elements of stored resources that the specification lets through but the centre does not use, counted by element path (so a practice sees what was not used)',
  })
  ignored!: Record<string, number>;
  @ApiProperty({
    type: [RejectedLineDto],
    description:
      'lines stored, with how an odd value was read (an objection whose date is missing, a period, partial or unreadable: still an objection)',
  })
  warnings!: RejectedLineDto[];
}

export class ExtractSummaryDto {
  @ApiProperty({ format: 'uuid' }) extractId!: string;
  @ApiProperty({ type: String, format: 'date-time' }) createdAt!: Date;
  @ApiProperty({ description: 'lines in the file' }) lines!: number;
  @ApiProperty({ description: 'Patient rows stored new or changed' }) patients!: number;
  @ApiProperty({ description: 'clinical resources stored new or changed' }) resources!: number;
  @ApiProperty({ description: 'objection entries added to the register history' }) objections!: number;
  @ApiProperty({ description: 'refused lines' }) rejectedCount!: number;
  @ApiProperty({ description: 'lines stored with a warning' }) warnings!: number;
}

export interface ExtractDropped {
  resources: number;
  fields: number;
  byField: Record<string, number>;
  type1: { patients: number; resources: number; heldDeleted: number };
}
