import { ApiProperty } from '@nestjs/swagger';
import { FIELD_CLASSIFICATIONS, type FieldClassification } from './tiers';

export class TierColumnsDto {
  @ApiProperty({ type: [String], example: ['nhs_number', 'date_of_birth', 'postcode', 'sex'] })
  identifiable!: string[];
  @ApiProperty({ type: [String], example: ['pseudo_id', 'birth_year_month', 'postcode_district', 'sex'] })
  pseudonymised!: string[];
  @ApiProperty({ type: [String], example: ['person_token', 'age_band', 'area', 'sex'] })
  anonymised!: string[];
  @ApiProperty({
    type: [String],
    example: [],
    description: 'Aggregate releases have no record-level columns',
  })
  aggregate!: string[];
}

export class CatalogFieldDto {
  @ApiProperty({ example: 'nhs_number' }) name!: string;
  @ApiProperty({ enum: FIELD_CLASSIFICATIONS }) classification!: FieldClassification;
  @ApiProperty() description!: string;
}

export class CatalogDatasetDto {
  @ApiProperty({ example: 'gp' }) id!: string;
  @ApiProperty() title!: string;
  @ApiProperty() description!: string;
  @ApiProperty({ type: [CatalogFieldDto] }) fields!: CatalogFieldDto[];
  @ApiProperty({
    type: TierColumnsDto,
    description: 'The columns a release of every field of this dataset contains, per tier',
  })
  columnsByTier!: TierColumnsDto;
}

export class CatalogDimensionDto {
  @ApiProperty({ example: 'age_band' }) name!: string;
  @ApiProperty() description!: string;
}

export class CatalogDto {
  @ApiProperty({ type: [CatalogDatasetDto] }) datasets!: CatalogDatasetDto[];
  @ApiProperty({ type: [CatalogDimensionDto], description: 'Dimensions an aggregate release may count by' })
  dimensions!: CatalogDimensionDto[];
}
