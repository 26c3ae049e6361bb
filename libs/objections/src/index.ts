export { ObjectionsHttpModule } from './objections-http.module';
export { ObjectionsModule } from './objections.module';
export { ObjectionsService, type RegisterChange } from './objections.service';
export { activeType1Among, objectionsAsOf } from './objections.sql';
export { OBJECTION_NOT_FOUND } from './objections.errors';
