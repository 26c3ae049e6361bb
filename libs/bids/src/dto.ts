import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional, OmitType, PartialType } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  IsUUID,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateNested,
} from 'class-validator';
import {
  DecimalInt,
  IsCalendarDate,
  IsOdsCode,
  IsOmittable,
  IsPageNumber,
  IsPlainText,
} from '@custodian/core';
import { TIERS, type Tier } from '@custodian/catalog';
import { BID_STATES, type BidState } from './bid-state';
import { LinkageRiskDto } from './linkage-risk.dto';
import { LEGAL_BASES, type LegalBasis } from './bid-rules';
import {
  AGREEMENT_STATUSES,
  type AgreementStatus,
  type AmendmentScope,
  VERSION_STATES,
  type VersionState,
} from './bid.entity';

export class DatasetRequestDto {
  @ApiProperty({ example: 'gp', description: 'A dataset of the catalogue (GET /api/datasets)' })
  @IsString()
  @MaxLength(40)
  dataset!: string;
  @ApiProperty({ type: [String], example: ['nhs_number', 'sex', 'code', 'event_date'] })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(50)
  @ArrayUnique({ message: ({ property }) => `${property} must not list a value twice` })
  @IsString({ each: true })
  @MaxLength(40, { each: true })
  fields!: string[];
}

/**
 * A cohort list is left out for no restriction, never sent empty: `[]` selected nobody (an empty
 * release), which no request means (probe 32's question; SPEC §4: absent = no restriction).
 */
const NotEmptyList = () =>
  ArrayMinSize(1, {
    message: ({ property }) => `${property} must list at least one value, or be left out (no restriction)`,
  });

export class CohortDto {
  @ApiPropertyOptional({
    type: 'array',
    items: { type: 'string', pattern: '^[A-Z][0-9]{5}$' },
    uniqueItems: true,
    minItems: 1,
    maxItems: 10_000,
    example: ['A81001'],
    description: 'ODS codes of GP practices',
  })
  @IsOmittable()
  @IsArray()
  @NotEmptyList()
  @ArrayMaxSize(10_000)
  @ArrayUnique({ message: ({ property }) => `${property} must not list a value twice` })
  @IsOdsCode({ each: true })
  practices?: string[];
  @ApiPropertyOptional({
    type: [String],
    minItems: 1,
    example: ['LS'],
    description: 'Postcode areas (the leading letters)',
  })
  @IsOmittable()
  @IsArray()
  @NotEmptyList()
  @ArrayMaxSize(200)
  @ArrayUnique({ message: ({ property }) => `${property} must not list a value twice` })
  @Matches(/^[A-Z]{1,2}$/, { each: true, message: 'postcodeAreas must be postcode areas such as LS' })
  postcodeAreas?: string[];
  @ApiPropertyOptional({
    type: [String],
    minItems: 1,
    example: ['22298006'],
    description: 'SNOMED CT, Read v2 or ICD-10 codes',
  })
  @IsOmittable()
  @IsArray()
  @NotEmptyList()
  @ArrayMaxSize(10_000)
  @ArrayUnique({ message: ({ property }) => `${property} must not list a value twice` })
  @Matches(/^[A-Za-z0-9.]{1,20}$/, { each: true, message: 'conditionCodes must be clinical codes' })
  conditionCodes?: string[];
  @ApiPropertyOptional({ example: '2010-01-01' })
  @IsOmittable()
  @IsCalendarDate()
  eventsFrom?: string;
  @ApiPropertyOptional({ example: '2014-12-31' })
  @IsOmittable()
  @IsCalendarDate()
  eventsTo?: string;
  @ApiPropertyOptional({ example: 18 }) @IsOmittable() @IsInt() @Min(0) @Max(130) ageMin?: number;
  @ApiPropertyOptional({ example: 90 }) @IsOmittable() @IsInt() @Min(0) @Max(130) ageMax?: number;
}

export class AggregationDto {
  @ApiProperty({ type: [String], example: ['sex', 'age_band'], description: 'Catalogue dimensions' })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(6)
  @ArrayUnique({ message: ({ property }) => `${property} must not list a value twice` })
  @IsString({ each: true })
  dimensions!: string[];
}

/**
 * The validation of a bid's changeable parts, one definition for the bid's body and an amendment's
 * (amendment.dto.ts). Each lists its decorators bottom-up, the order TypeScript applies stacked
 * decorators in, so the validation metadata (its messages, the OpenAPI limits) is as if written out.
 *
 * An optional property may be left out, never sent as null (`IsOmittable`; class-validator's
 * `IsOptional` lets null through): a cohort of nulls was stored, broke every later BidDto's schema
 * and made the bid's releases fail (an outsider's probe, 2026-12-07). Absent = no restriction.
 */
// Each element an object: `ValidateNested({ each: true })` also validates the elements of an array
// given as an element, so `[[{…}]]` passed and reached the service (probe 32).
export const DatasetsRule = () =>
  applyDecorators(
    Type(() => DatasetRequestDto),
    ValidateNested({ each: true }),
    IsObject({ each: true, message: ({ property }) => `each value in ${property} must be an object` }),
    ArrayMaxSize(3),
    ArrayMinSize(1),
    IsArray(),
  );
// An object, not an array of them: `ValidateNested` validates an array's elements, and an array
// where the cohort belongs was accepted and stored as {"0": …} (found by test/fuzz).
export const CohortRule = () =>
  applyDecorators(
    Type(() => CohortDto),
    ValidateNested(),
    IsObject(),
    IsOmittable(),
  );
/** `nullable`: null is a value (an edit clearing it), where the BidDto's may be null. */
export const AggregationRule = (nullable = false) =>
  applyDecorators(
    Type(() => AggregationDto),
    ValidateNested(),
    IsObject(),
    nullable ? IsOptional() : IsOmittable(),
  );
// Printed on the public register and signed into its log, as the title is: plain text on one line
// (probe 36: a text-direction override, a line break or three zero-width spaces were stored).
export const LegalBasisReferenceRule = (nullable = false) =>
  applyDecorators(
    MaxLength(200),
    IsPlainText(3),
    MinLength(3),
    IsString(),
    nullable ? IsOptional() : IsOmittable(),
  );
export const DurationMonthsRule = () => applyDecorators(Max(36), Min(1), IsInt());
export const RecipientsRule = () =>
  applyDecorators(
    IsUUID('all', { each: true }),
    ArrayUnique({ message: ({ property }) => `${property} must not list a value twice` }),
    ArrayMaxSize(50),
    ArrayMinSize(1),
    IsArray(),
    IsOmittable(),
  );

/** The request body of SPEC §4, exactly. */
export class CreateBidDto {
  @ApiProperty({ example: 'Statins and stroke in Leeds' })
  @IsString()
  @MinLength(3)
  @MaxLength(200)
  @IsPlainText(3)
  title!: string;
  @ApiProperty()
  @IsString()
  @MinLength(10)
  @MaxLength(20_000)
  @IsPlainText(10, { multiline: true })
  purpose!: string;
  @ApiProperty()
  @IsString()
  @MinLength(10)
  @MaxLength(20_000)
  @IsPlainText(10, { multiline: true })
  publicBenefit!: string;
  @ApiProperty({ enum: LEGAL_BASES }) @IsIn(LEGAL_BASES) legalBasis!: LegalBasis;
  @ApiPropertyOptional({
    example: 'CAG 7-07(a)/2013',
    description: 'Required for s251 (CAG reference) and public_health_emergency (notice)',
  })
  @LegalBasisReferenceRule()
  legalBasisReference?: string;
  @ApiProperty({ enum: TIERS }) @IsIn(TIERS) requestedTier!: Tier;
  @ApiProperty({ type: [DatasetRequestDto] })
  @DatasetsRule()
  datasets!: DatasetRequestDto[];
  @ApiPropertyOptional({ type: CohortDto, description: 'Every key optional; absent = no restriction' })
  @CohortRule()
  cohort?: CohortDto;
  @ApiPropertyOptional({
    type: AggregationDto,
    description:
      'Required for the aggregate tier. Beside a record-level tier, the counts the panel may grant instead by approving at the aggregate tier',
  })
  @AggregationRule()
  aggregation?: AggregationDto;
  @ApiProperty({ example: 12, description: 'At most 12 for commercial organisations, 36 otherwise' })
  @DurationMonthsRule()
  durationMonths!: number;
  @ApiPropertyOptional({
    type: [String],
    format: 'uuid',
    description: 'Researchers of the same organisation; default: the creator',
  })
  @RecipientsRule()
  recipients?: string[];
}

/**
 * An edit: any property of the body, none null (`skipNullProperties: false`) but the two a BidDto
 * may hold as null, where null clears the value (the portal's form sends it so): the legal basis
 * reference and the aggregation.
 */
export class UpdateBidDto extends PartialType(
  OmitType(CreateBidDto, ['legalBasisReference', 'aggregation'] as const),
  { skipNullProperties: false },
) {
  @ApiPropertyOptional({
    type: String,
    nullable: true,
    example: 'CAG 7-07(a)/2013',
    description: 'Required for s251 and public_health_emergency; null removes it',
  })
  @LegalBasisReferenceRule(true)
  legalBasisReference?: string | null;
  @ApiPropertyOptional({
    type: AggregationDto,
    nullable: true,
    description: 'Required for, and only for, the aggregate tier; null removes it',
  })
  @AggregationRule(true)
  aggregation?: AggregationDto | null;
}

export class ListBidsQueryDto {
  @IsPageNumber() page: number = 1;
  @ApiPropertyOptional({ default: 50, maximum: 200 })
  @IsOptional()
  @DecimalInt()
  @IsInt()
  @Min(1)
  @Max(200)
  limit: number = 50;
  @ApiPropertyOptional({ enum: BID_STATES }) @IsOptional() @IsIn(BID_STATES) state?: BidState;
}

export class RevokeBidDto {
  @ApiProperty()
  @IsString()
  @MinLength(3)
  @IsPlainText(3, { multiline: true })
  @MaxLength(2000)
  reason!: string;
}

export class RemarksDto {
  // Null is no value (IsOmittable: a 400 naming it), as in the bid's own body.
  // No control or text-direction characters (probe 21: a withdrawal's reason reversed what reviewers read).
  @ApiPropertyOptional()
  @IsOmittable()
  @IsString()
  @IsPlainText(0, { multiline: true })
  @MaxLength(2000)
  remarks?: string;
}

export class AgreementDto {
  @ApiProperty({ example: 'DSA-2026-0001-v1' }) reference!: string;
  @ApiProperty() version!: number;
  @ApiProperty({ enum: AGREEMENT_STATUSES }) status!: AgreementStatus;
  @ApiProperty({ enum: TIERS }) tier!: Tier;
  @ApiProperty() durationMonths!: number;
  @ApiProperty({ type: [String] }) conditions!: string[];
  @ApiProperty({ type: String, nullable: true, example: '2026-01-01', description: 'Set on acceptance' })
  startDate!: string | null;
  @ApiProperty({
    type: String,
    nullable: true,
    example: '2027-01-01',
    description: 'The agreement ends on this date (start + durationMonths)',
  })
  endDate!: string | null;
}

export class ApplicantOrganisationDto {
  @ApiProperty({ example: 'University of Leeds' }) name!: string;
  @ApiProperty({ enum: ['academic', 'nhs', 'commercial', 'charity', 'public_body'] }) kind!: string;
  @ApiProperty({ description: 'Commercial organisations have a shorter maximum agreement term' })
  commercial!: boolean;
}

export class PendingAmendmentDto {
  @ApiProperty() version!: number;
  @ApiProperty({ enum: VERSION_STATES }) state!: VersionState;
  @ApiProperty({ enum: ['narrowing', 'widening'], nullable: true }) scope!: AmendmentScope | null;
}

export class BidDto {
  @ApiProperty() id!: string;
  @ApiProperty() organisationId!: string;
  @ApiProperty() createdBy!: string;
  @ApiProperty({ enum: BID_STATES }) state!: BidState;
  @ApiProperty() title!: string;
  @ApiProperty() purpose!: string;
  @ApiProperty() publicBenefit!: string;
  @ApiProperty({ enum: LEGAL_BASES }) legalBasis!: LegalBasis;
  @ApiProperty({ type: String, nullable: true }) legalBasisReference!: string | null;
  @ApiProperty({ enum: TIERS }) requestedTier!: Tier;
  @ApiProperty({ enum: TIERS, nullable: true }) grantedTier!: Tier | null;
  @ApiProperty({ type: [DatasetRequestDto] }) datasets!: DatasetRequestDto[];
  @ApiProperty({ type: CohortDto }) cohort!: CohortDto;
  @ApiProperty({ type: AggregationDto, nullable: true }) aggregation!: AggregationDto | null;
  @ApiProperty() durationMonths!: number;
  @ApiProperty({ type: [String] }) recipients!: string[];
  @ApiProperty({ type: [String], description: 'Conditions set by the panel' }) conditions!: string[];
  @ApiProperty({ type: Number, nullable: true, description: 'Consenting NHS numbers on file (consent bids)' })
  cohortSize!: number | null;
  @ApiProperty({ description: 'The version in force (1 until an amendment is accepted)' }) version!: number;
  @ApiProperty({
    type: PendingAmendmentDto,
    nullable: true,
    description: 'The open amendment once submitted (the version in force stays in force meanwhile)',
  })
  pendingAmendment!: PendingAmendmentDto | null;
  @ApiProperty({ type: AgreementDto, nullable: true, description: 'The agreement of the version in force' })
  agreement!: AgreementDto | null;
  @ApiProperty({ type: ApplicantOrganisationDto, description: 'The applicant organisation' })
  organisation!: ApplicantOrganisationDto;
  @ApiPropertyOptional({
    type: LinkageRiskDto,
    description:
      "Reviewers only, pseudonymised bids: linkage with the organisation's other pseudonymised bids (#27)",
  })
  linkageRisk?: LinkageRiskDto;
  @ApiProperty() createdAt!: Date;
  @ApiProperty() updatedAt!: Date;
  @ApiProperty({ type: Date, nullable: true }) submittedAt!: Date | null;
  @ApiProperty({ type: Date, nullable: true }) decidedAt!: Date | null;
}

export class BidListDto {
  @ApiProperty({ type: [BidDto] }) items!: BidDto[];
  @ApiProperty() page!: number;
  @ApiProperty() limit!: number;
  @ApiProperty() total!: number;
}

export class BidEventDto {
  @ApiProperty() id!: string;
  @ApiProperty() at!: Date;
  @ApiProperty({ example: 'screen_return' }) action!: string;
  @ApiProperty({ type: String, nullable: true }) actorId!: string | null;
  @ApiProperty({ type: [String] }) actorRoles!: string[];
  @ApiProperty({ enum: BID_STATES, nullable: true }) fromState!: BidState | null;
  @ApiProperty({ enum: BID_STATES, nullable: true }) toState!: BidState | null;
  @ApiProperty({ type: String, nullable: true }) remarks!: string | null;
  @ApiPropertyOptional({ type: String, nullable: true, description: 'Reviewers only' }) internalNotes?:
    string | null;
  @ApiProperty({ type: Object }) details!: Record<string, unknown>;
}

export class CohortUploadDto {
  @ApiProperty({ description: 'Non-blank lines received' }) received!: number;
  @ApiProperty({ description: 'Distinct NHS numbers now on file for the bid' }) stored!: number;
  @ApiProperty({ description: 'Lines repeating an NHS number already in the file' }) duplicates!: number;
}
