export { ObjectionsHttpModule } from './objections-http.module';
export { ObjectionsModule } from './objections.module';
export { ObjectionsService, type RegisterChange } from './objections.service';
export {
  activeType1Among,
  extractEntriesOf,
  loadObjectionHistorySql,
  objectionsAsOf,
  recordAliasesSql,
  withAliases,
  withdrawnType1Among,
} from './objections.sql';
export { OBJECTION_NOT_FOUND } from './objections.errors';
export { HELD_GP_DATA, type HeldGpData } from './held-data';
export { OBJECTION_REGISTER_SOURCE } from './sources';
