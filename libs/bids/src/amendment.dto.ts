import { ApiProperty, ApiPropertyOptional, PartialType } from '@nestjs/swagger';
import { IsString, MaxLength, MinLength } from 'class-validator';
import { IsOmittable, IsPlainText } from '@custodian/core';
import {
  AggregationDto,
  AggregationRule,
  CohortDto,
  CohortRule,
  DatasetRequestDto,
  DatasetsRule,
  DurationMonthsRule,
  RecipientsRule,
} from './dto';
import { VERSION_STATES, type AmendmentScope, type VersionState } from './bid.entity';

/**
 * An amendment (#25): the changeable parts of a bid, each optional (absent: as in force), and why.
 * Title, purpose, legal basis and tier are not amendable.
 */
export class CreateAmendmentDto {
  @ApiProperty({ description: 'Why the change is needed (shown to the officer and the panel)' })
  @IsString()
  @MinLength(10)
  @IsPlainText(10, { multiline: true })
  @MaxLength(5000)
  reason!: string;
  @ApiPropertyOptional({
    type: [DatasetRequestDto],
    description: 'Datasets and fields, replacing those in force',
  })
  @IsOmittable()
  @DatasetsRule()
  datasets?: DatasetRequestDto[];
  @ApiPropertyOptional({
    type: CohortDto,
    description: 'The cohort, replacing the one in force (every key optional)',
  })
  @CohortRule()
  cohort?: CohortDto;
  @ApiPropertyOptional({ type: AggregationDto, description: 'Aggregate tier only' })
  @AggregationRule()
  aggregation?: AggregationDto;
  @ApiPropertyOptional({ example: 24, description: 'The term from the agreement’s first start, in months' })
  @IsOmittable()
  @DurationMonthsRule()
  durationMonths?: number;
  @ApiPropertyOptional({ type: [String], format: 'uuid', description: 'Researchers of your organisation' })
  @RecipientsRule()
  recipients?: string[];
}

/** An edit of a draft or returned amendment: any property, none null (absent: as it was). */
export class UpdateAmendmentDto extends PartialType(CreateAmendmentDto, { skipNullProperties: false }) {}

export class AmendmentDiffEntryDto {
  @ApiProperty({
    example: 'datasets.gp',
    description: 'The changed field (`datasets.<id>`, `cohort.<key>`, …)',
  })
  field!: string;
  @ApiProperty({
    type: String,
    nullable: true,
    description: 'In force, in words (null: not requested / no restriction)',
  })
  inForce!: string | null;
  @ApiProperty({ type: String, nullable: true, description: 'Proposed, in words' })
  proposed!: string | null;
  @ApiProperty({ enum: ['narrows', 'widens'] }) effect!: 'narrows' | 'widens';
}

export class AmendmentDto {
  @ApiProperty() bidId!: string;
  @ApiProperty({ description: 'The version this amendment would become (2, 3, …)' }) version!: number;
  @ApiProperty({ type: Number, nullable: true, description: 'The version in force when it was opened' })
  baseVersion!: number | null;
  @ApiProperty({ enum: VERSION_STATES }) state!: VersionState;
  @ApiProperty({
    enum: ['narrowing', 'widening'],
    nullable: true,
    description: 'narrowing: a release officer may approve it alone; widening: the panel decides',
  })
  scope!: AmendmentScope | null;
  @ApiProperty({ type: String, nullable: true }) reason!: string | null;
  @ApiProperty({ type: [DatasetRequestDto] }) datasets!: DatasetRequestDto[];
  @ApiProperty({ type: CohortDto }) cohort!: CohortDto;
  @ApiProperty({ type: AggregationDto, nullable: true }) aggregation!: AggregationDto | null;
  @ApiProperty() durationMonths!: number;
  @ApiProperty({ type: [String] }) recipients!: string[];
  @ApiProperty({ type: [String], description: 'Conditions its approval adds to the agreement' })
  conditions!: string[];
  @ApiProperty({
    type: [AmendmentDiffEntryDto],
    description: 'Field by field, against the version it amends',
  })
  diff!: AmendmentDiffEntryDto[];
  @ApiProperty({ type: String, nullable: true, description: 'The agreement version offered on its approval' })
  agreementReference!: string | null;
  @ApiProperty() createdAt!: Date;
  @ApiProperty() updatedAt!: Date;
  @ApiProperty({ type: Date, nullable: true }) submittedAt!: Date | null;
  @ApiProperty({ type: Date, nullable: true }) decidedAt!: Date | null;
}
