export { CatalogController } from './catalog.controller';
export { CatalogHttpModule } from './catalog-http.module';
export { CatalogModule } from './catalog.module';
export { CatalogService } from './catalog.service';
export {
  AGGREGATE_DIMENSIONS,
  type AggregateDimension,
  CATALOGUE_FIELDS,
  DATASET_FILE,
  DATE_FIELDS,
  type Dataset,
  PERSON_FIELDS,
  SOURCE_ROW_KEY_FIELDS,
} from './catalogue';
export { IDENTIFIER_COLUMNS, leastIdentifying, type Tier, tierColumns, TIERS, tierRank } from './tiers';
