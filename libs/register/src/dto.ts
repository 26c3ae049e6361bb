import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { DecimalInt, IsCalendarDate, IsPageNumber, NotBefore } from '@custodian/core';
import { LEGAL_BASES, type LegalBasis } from '@custodian/bids';
import { TIERS, type Tier } from '@custodian/catalog';

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
  @ApiPropertyOptional({ example: '2026-01-01' }) @IsOptional() @IsCalendarDate() from?: string;
  @ApiPropertyOptional({ example: '2026-12-31', description: 'Not before `from`' })
  @IsOptional()
  @IsCalendarDate()
  @NotBefore('from')
  to?: string;
}

export class RegisterFileDto {
  @ApiProperty({ example: 'gp.csv.gz' }) name!: string;
  @ApiProperty({ type: 'integer', minimum: 0 }) bytes!: number;
  @ApiProperty({
    pattern: '^[0-9a-f]{64}$',
    description:
      "The register's digest of the file: SHA-256 of the release's register salt (32 bytes, in the release's manifest.json, which its recipients hold) followed by the file's SHA-256 as 64 hexadecimal characters. Not the file's plain SHA-256, which would let anyone test a guess of a small file's content (lines written before 2026-12-07 carry the plain SHA-256)",
  })
  sha256!: string;
}

export class RegisterLineDto {
  @ApiProperty({
    enum: ['decision', 'release', 'amendment'],
    description: 'An approved bid, one release of it, or an approved amendment (a new agreement version)',
  })
  type!: 'decision' | 'release' | 'amendment';
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
  @ApiProperty({
    type: [RegisterFileDto],
    description: 'For a release line: its files with their size and SHA-256 (empty for a decision line)',
  })
  files!: RegisterFileDto[];
  @ApiProperty({
    type: 'integer',
    nullable: true,
    description:
      'Its position in the register log (GET /api/register/log): a release line, and a decision line logged since decisions are',
  })
  registerSeq!: number | null;
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    nullable: true,
    description:
      'For a release line: its risk and linkage report under the small-number rule (counts 0-7 shown as *, others rounded to 5; percentages whole; no linkage figures for an aggregate table)',
  })
  riskReport!: Record<string, unknown> | null;
  @ApiProperty({
    type: String,
    nullable: true,
    description:
      'For an aggregate release line: "differencing guard applied: …" where the table was compared with earlier aggregate releases to the organisation, so that it cannot be subtracted from them; else null',
  })
  differencingGuard!: string | null;
  @ApiProperty({
    type: Boolean,
    nullable: true,
    description:
      "For a release line: whether the release's files were checked, before anyone could download them, by the release verifier, by code independent of the engine that made them; null for a decision line",
  })
  independentlyVerified!: boolean | null;
}

export class RegisterPageQueryDto {
  @IsPageNumber() page: number = 1;
  @ApiPropertyOptional({ default: 100, minimum: 1, maximum: 500 })
  @IsOptional()
  @DecimalInt()
  @IsInt()
  @Min(1)
  @Max(500)
  limit: number = 100;
}

export class AuditHashesQueryDto {
  @ApiPropertyOptional({
    default: 1,
    minimum: 1,
    description: 'Position in the audit chain (1 = first entry)',
  })
  @IsOptional()
  @DecimalInt()
  @IsInt()
  @Min(1)
  @Max(Number.MAX_SAFE_INTEGER)
  from: number = 1;
  @ApiPropertyOptional({ default: 100, minimum: 1, maximum: 1000 })
  @IsOptional()
  @DecimalInt()
  @IsInt()
  @Min(1)
  @Max(1000)
  limit: number = 100;
}

export class PublicKeyDto {
  @ApiProperty({ enum: ['Ed25519'] }) algorithm!: 'Ed25519';
  @ApiProperty({
    pattern: '^[0-9a-f]{16}$',
    description: 'First 16 hex digits of SHA-256 over the key (SPKI DER)',
  })
  keyId!: string;
  @ApiProperty({ description: 'The public key, PEM (SPKI)' }) publicKey!: string;
}

export class CheckpointDto {
  @ApiProperty({ format: 'date-time' }) at!: string;
  @ApiProperty({ type: 'integer', minimum: 0, description: 'Entries in the audit chain' })
  auditLength!: number;
  @ApiProperty({ pattern: '^[0-9a-f]{64}$', description: 'Hash of the last audit entry' }) auditHead!: string;
  @ApiProperty({ type: 'integer', minimum: 0, description: 'Lines in the register log' })
  registerLength!: number;
  @ApiProperty({ pattern: '^[0-9a-f]{64}$', description: 'Hash of the last register log entry' })
  registerHead!: string;
  @ApiProperty({ pattern: '^[0-9a-f]{16}$' }) keyId!: string;
  @ApiProperty({
    description:
      'Ed25519 signature (base64) over "custodian-register-checkpoint/v1\\n" + the canonical JSON of the other fields',
  })
  signature!: string;
}

export class StoredCheckpointDto extends CheckpointDto {
  @ApiProperty({ pattern: '^[0-9]+$' }) id!: string;
  @ApiProperty({ enum: ['release', 'daily'] }) reason!: string;
}

export class CheckpointPageDto {
  @ApiProperty({ type: [StoredCheckpointDto] }) items!: StoredCheckpointDto[];
  @ApiProperty({ type: 'integer', minimum: 1 }) page!: number;
  @ApiProperty({ type: 'integer', minimum: 1, maximum: 500 }) limit!: number;
  @ApiProperty({ type: 'integer', minimum: 0 }) total!: number;
}

export class RegisterLogAuditDto {
  @ApiProperty({ pattern: '^[0-9]+$' }) id!: string;
  @ApiProperty({ pattern: '^[0-9a-f]{64}$' }) hash!: string;
}

/** A line of the register log: a release's (no `kind`), a decision's or an amendment's. */
export class RegisterLogLineDto {
  @ApiProperty({
    enum: ['decision', 'amendment'],
    required: false,
    description: 'decision or amendment; absent on a release line',
  })
  kind?: 'decision' | 'amendment';
  @ApiProperty({
    type: 'integer',
    minimum: 2,
    required: false,
    description: 'An amendment line: the bid version',
  })
  version?: number;
  @ApiProperty({ enum: ['narrowing', 'widening'], required: false, description: 'An amendment line' })
  scope?: string;
  @ApiProperty({ type: 'integer', minimum: 1 }) seq!: number;
  @ApiProperty({ format: 'uuid', required: false, description: 'A release line' }) releaseId?: string;
  @ApiProperty({ format: 'uuid' }) bidId!: string;
  @ApiProperty({ format: 'date-time' }) at!: string;
  @ApiProperty({ required: false, description: 'A decision line' }) organisation?: string;
  @ApiProperty({ required: false, description: 'A decision line' }) organisationKind?: string;
  @ApiProperty({ required: false, description: 'A decision line' }) title?: string;
  @ApiProperty({ required: false, description: 'A decision line' }) purpose?: string;
  @ApiProperty({ enum: TIERS }) tier!: string;
  @ApiProperty({ enum: LEGAL_BASES }) legalBasis!: string;
  @ApiProperty({ type: String, nullable: true, required: false, description: 'A decision line' })
  legalBasisReference?: string | null;
  @ApiProperty({ type: [String] }) datasets!: string[];
  @ApiProperty({ type: String, nullable: true }) agreementReference!: string | null;
  @ApiProperty({ required: false, description: 'A release line' }) objectionsApplied?: boolean;
  @ApiProperty({ type: String, nullable: true, required: false, description: 'A release line' })
  objectionsNote?: string | null;
  @ApiProperty({ type: [RegisterFileDto], required: false, description: 'A release line' })
  files?: RegisterFileDto[];
  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    nullable: true,
    description: 'A release line',
  })
  riskReport?: Record<string, unknown> | null;
  @ApiProperty({
    type: RegisterLogAuditDto,
    description: 'The audit entry written with the line (release.completed, or bid.decide_approve)',
  })
  audit!: RegisterLogAuditDto;
}

export class RegisterLogEntryDto {
  @ApiProperty({ type: 'integer', minimum: 1 }) seq!: number;
  @ApiProperty({ type: RegisterLogLineDto }) line!: RegisterLogLineDto;
  @ApiProperty({ pattern: '^[0-9a-f]{64}$', description: 'SHA-256 of the canonical JSON of the line' })
  lineHash!: string;
  @ApiProperty({ pattern: '^[0-9a-f]{64}$' }) prevHash!: string;
  @ApiProperty({ pattern: '^[0-9a-f]{64}$', description: 'SHA-256(prevHash | lineHash)' }) hash!: string;
  @ApiProperty({ type: String, nullable: true, description: "The audit entry's hash as it stands now" })
  auditHashNow!: string | null;
  @ApiProperty({
    type: String,
    nullable: true,
    description: "The next audit entry's link to it (null when it is the last entry)",
  })
  auditNextPrevHash!: string | null;
}

export class RegisterLogPageDto {
  @ApiProperty({ type: [RegisterLogEntryDto] }) items!: RegisterLogEntryDto[];
  @ApiProperty({ type: 'integer', minimum: 1 }) page!: number;
  @ApiProperty({ type: 'integer', minimum: 1, maximum: 500 }) limit!: number;
  @ApiProperty({ type: 'integer', minimum: 0 }) total!: number;
}

export class AuditHashDto {
  @ApiProperty({ type: 'integer', minimum: 1 }) position!: number;
  @ApiProperty({ pattern: '^[0-9a-f]{64}$' }) prevHash!: string;
  @ApiProperty({ pattern: '^[0-9a-f]{64}$' }) hash!: string;
}

export class AuditHashesDto {
  @ApiProperty({ type: [AuditHashDto] }) items!: AuditHashDto[];
}
