import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsDefined,
  IsIn,
  IsString,
  MaxLength,
  MinLength,
  ValidateBy,
  ValidateIf,
  type ValidationArguments,
} from 'class-validator';
import { IsOmittable, IsPlainText } from '@custodian/core';
import { TIERS, type Tier } from '@custodian/catalog';
import { BID_STATES, type BidState, VERSION_STATES, type VersionState } from '@custodian/bids';
import type { VoteDecision } from './decision-rule';

export class ScreenBidDto {
  @ApiProperty({ enum: ['accept', 'return'] }) @IsIn(['accept', 'return']) outcome!: 'accept' | 'return';
  @ApiPropertyOptional({ description: 'Shown to the applicant; required when returning' })
  @ValidateIf((o: ScreenBidDto) => o.outcome === 'return' || o.remarks !== undefined)
  @IsString()
  @MinLength(1)
  @IsPlainText(1, { multiline: true })
  @MaxLength(5000)
  remarks?: string;
  @ApiPropertyOptional({ description: 'Internal notes for the panel; never shown to the applicant' })
  @IsOmittable()
  @IsString()
  @IsPlainText(0, { multiline: true })
  @MaxLength(5000)
  notes?: string;
}

/** SPEC §4: a tier only with `approve` ("approve, optionally at a lower tier"); reject and return have none. */
const OnlyWhenApproving = () =>
  ValidateBy({
    name: 'onlyWhenApproving',
    validator: {
      validate: (_value: unknown, args?: ValidationArguments) =>
        (args?.object as VoteDto).decision === 'approve',
      defaultMessage: (args?: ValidationArguments) => `${args?.property} is only for decision approve`,
    },
  });

export class VoteDto {
  @ApiProperty({ enum: ['approve', 'reject', 'return'] })
  @IsIn(['approve', 'reject', 'return'])
  decision!: VoteDecision;
  @ApiPropertyOptional({
    enum: TIERS,
    description: 'Approve at this tier (default: the requested tier; never above it); only with approve',
  })
  @IsOmittable()
  @IsIn(TIERS)
  @OnlyWhenApproving()
  tier?: Tier;
  @ApiPropertyOptional({ type: [String] })
  @IsOmittable()
  @IsArray()
  @ArrayMaxSize(20)
  @IsString({ each: true })
  @MinLength(1, { each: true })
  @IsPlainText(1, { multiline: true }, { each: true })
  @MaxLength(1000, { each: true })
  conditions?: string[];
  @ApiPropertyOptional({
    description:
      "Approve linkage with the organisation's other bids: unless every approving vote does, a pseudonymised agreement carries a no-linkage condition",
  })
  @IsOmittable()
  @OnlyWhenApproving()
  @IsBoolean()
  approveLinkage?: boolean;
  @ApiProperty({
    description: 'Declaration of interests: true recuses the voter (the vote is recorded, not counted)',
  })
  @IsDefined()
  @IsBoolean()
  conflictOfInterest!: boolean;
  @ApiPropertyOptional({ description: 'The interests declared, in words' })
  @IsOmittable()
  @IsString()
  @IsPlainText(0, { multiline: true })
  @MaxLength(2000)
  interests?: string;
}

export class VoteResultDto {
  @ApiProperty() voteId!: string;
  @ApiProperty({ enum: ['approve', 'reject', 'return'] }) decision!: VoteDecision;
  @ApiProperty({ enum: TIERS }) tier!: Tier;
  @ApiProperty({ description: 'True when the voter declared a conflict: recorded, not counted' })
  recused!: boolean;
  @ApiProperty({ description: 'Non-recused votes so far in this review round' }) counted!: number;
  @ApiProperty() quorum!: number;
  @ApiProperty({ enum: BID_STATES, description: 'The bid state after this vote' }) bidState!: BidState;
}

export class ScreenAmendmentDto {
  @ApiProperty({
    enum: ['accept', 'return', 'approve'],
    description:
      'accept: into the panel’s review; return: to the applicant with remarks; approve: a narrowing amendment, by the officer alone',
  })
  @IsIn(['accept', 'return', 'approve'])
  outcome!: 'accept' | 'return' | 'approve';
  @ApiPropertyOptional({ description: 'Shown to the applicant; required when returning' })
  @ValidateIf((o: ScreenAmendmentDto) => o.outcome === 'return' || o.remarks !== undefined)
  @IsString()
  @MinLength(1)
  @IsPlainText(1, { multiline: true })
  @MaxLength(5000)
  remarks?: string;
  @ApiPropertyOptional({ description: 'Internal notes for the panel; never shown to the applicant' })
  @IsOmittable()
  @IsString()
  @IsPlainText(0, { multiline: true })
  @MaxLength(5000)
  notes?: string;
}

export class AmendmentVoteResultDto {
  @ApiProperty() voteId!: string;
  @ApiProperty({ enum: ['approve', 'reject', 'return'] }) decision!: VoteDecision;
  @ApiProperty({ description: 'True when the voter declared a conflict: recorded, not counted' })
  recused!: boolean;
  @ApiProperty({ description: 'Non-recused votes so far on this amendment' }) counted!: number;
  @ApiProperty() quorum!: number;
  @ApiProperty({ enum: VERSION_STATES, description: 'The amendment state after this vote' })
  amendmentState!: VersionState;
}
