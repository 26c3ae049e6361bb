import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { LEGAL_BASES, type LegalBasis } from '@custodian/bids';
import { TIERS, type Tier } from '@custodian/catalog';

const ISO_DATE = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;

export class RegisterQueryDto {
  @ApiPropertyOptional({ enum: ['json', 'csv'], default: 'json' })
  @IsOptional()
  @IsIn(['json', 'csv'])
  format?: 'json' | 'csv';
  @ApiPropertyOptional({ description: 'Organisation name (contains) or id' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  organisation?: string;
  @ApiPropertyOptional({ enum: TIERS }) @IsOptional() @IsIn(TIERS) tier?: Tier;
  @ApiPropertyOptional({ enum: LEGAL_BASES }) @IsOptional() @IsIn(LEGAL_BASES) legalBasis?: LegalBasis;
  @ApiPropertyOptional({ example: '2026-01-01' }) @IsOptional() @Matches(ISO_DATE) from?: string;
  @ApiPropertyOptional({ example: '2026-12-31' }) @IsOptional() @Matches(ISO_DATE) to?: string;
}

export class RegisterLineDto {
  @ApiProperty({ enum: ['decision', 'release'], description: 'An approved bid, or one release of it' })
  type!: 'decision' | 'release';
  @ApiProperty({ description: 'Date of the decision or of the release' }) date!: string;
  @ApiProperty() bidId!: string;
  @ApiProperty({ type: String, nullable: true }) releaseId!: string | null;
  @ApiProperty() organisation!: string;
  @ApiProperty({ enum: ['academic', 'nhs', 'commercial', 'charity', 'public_body'] })
  organisationKind!: string;
  @ApiProperty() commercial!: boolean;
  @ApiProperty() title!: string;
  @ApiProperty() purpose!: string;
  @ApiProperty({ type: [String], example: ['gp', 'hes'] }) datasets!: string[];
  @ApiProperty({ enum: TIERS }) tier!: Tier;
  @ApiProperty({ enum: LEGAL_BASES }) legalBasis!: LegalBasis;
  @ApiProperty({ type: String, nullable: true }) legalBasisReference!: string | null;
  @ApiProperty({ description: 'Current state of the bid (approved, active, expired, revoked, closed)' })
  status!: string;
  @ApiProperty({ type: String, nullable: true, example: 'DSA-2026-0001-v1' }) agreementReference!:
    string | null;
  @ApiProperty({ type: String, nullable: true }) agreementStart!: string | null;
  @ApiProperty({ type: String, nullable: true }) agreementEnd!: string | null;
  @ApiProperty({ description: 'Whether type 2 objections are applied' }) objectionsApplied!: boolean;
  @ApiProperty({ description: 'How objections are handled, and why when they are not applied' })
  objectionsNote!: string;
  @ApiProperty({
    type: String,
    nullable: true,
    description: 'For a release line: when its files were destroyed (agreement expired, revoked or closed)',
  })
  filesDestroyedAt!: string | null;
}
