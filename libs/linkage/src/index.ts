export { LinkageHttpModule } from './linkage-http.module';
export { LinkageModule } from './linkage.module';
export { RELINK_QUEUE } from './linkage.service';
export {
  demographicInput,
  demographicSteps,
  type Exec,
  LINKAGE_RESULT,
  LINKAGE_WORK_MEM,
  nhsAnchoredSteps,
  runLinkage,
} from './linkage.sql';
export { SourceLoadService } from './source-load.service';
export { Type1Keys, Type1KeysModule } from './type1-keys.service';
export { LINKAGE_ERRORS } from './linkage.errors';
export { HES_EPISODES_SOURCE, SOCIAL_CARE_SOURCE } from './sources';
export { CODE_FORMATS, SERVICE_TYPES } from './source-codes';
