import { ApiProperty } from '@nestjs/swagger';
import { IsIn } from 'class-validator';
import { IsNhsNumber } from '@custodian/core';
import type { ObjectionAction, ObjectionType } from './objection-codes';

export class RecordObjectionDto {
  @ApiProperty({
    example: '9434765919',
    description:
      'ten digits, Modulus 11; written with spaces or hyphens (943 476 5919) it is read without them',
  })
  @IsNhsNumber()
  nhsNumber!: string;
  @ApiProperty({ enum: ['type1', 'type2'] }) @IsIn(['type1', 'type2']) type!: ObjectionType;
  @ApiProperty({ enum: ['register', 'withdraw'] }) @IsIn(['register', 'withdraw']) action!: ObjectionAction;
}

export class ObjectionEventDto {
  @ApiProperty({ description: 'id of the objection event (history entry)' }) id!: string;
  @ApiProperty({ enum: ['type1', 'type2'] }) type!: ObjectionType;
  @ApiProperty({ enum: ['register', 'withdraw'] }) action!: ObjectionAction;
  @ApiProperty({ example: '2026-01-31', description: 'the UTC date of effectiveAt' }) effectiveOn!: string;
  @ApiProperty({
    example: '2026-01-31T14:03:07.123456Z',
    description:
      'when it took effect: the time received (UTC). Per NHS number and type the latest instant decides, an exact tie to the objection',
  })
  effectiveAt!: string;
  @ApiProperty({
    description:
      "whether an objection of this type is now active under this NHS number, as far as the caller may know it (the register for its current patient, else its own entries). An objection recorded under another number a practice's record gives for the same patient still applies to releases; this answer does not tell of it, since that would tell what another practice holds",
  })
  active!: boolean;
  @ApiProperty({
    description:
      "1 when a Type 1 registration deleted the GP data of the caller's own registration of the patient, else 0 (every practice's is deleted; only the caller's is counted, so the answer tells nobody whether another practice holds the NHS number)",
  })
  heldRecordsDeleted!: number;
}

export class ObjectionCountsDto {
  @ApiProperty({ example: 3 }) type1!: number;
  @ApiProperty({ example: 12 }) type2!: number;
}

export class RecordedCountsDto {
  @ApiProperty() register!: number;
  @ApiProperty() withdraw!: number;
  @ApiProperty() fromExtracts!: number;
  @ApiProperty() fromApi!: number;
}

export class ObjectionSummaryDto {
  @ApiProperty({
    type: ObjectionCountsDto,
    description:
      'active objections of patients registered with the calling practice, or that it recorded, by type',
  })
  active!: ObjectionCountsDto;
  @ApiProperty({
    type: RecordedCountsDto,
    description: 'register history entries the calling practice recorded, by action and by source',
  })
  recorded!: RecordedCountsDto;
}
