export * from './dto';
export * from './objection-codes';
export * from './objections-http.module';
export * from './objections.module';
export * from './objections.service';
export * from './objections.errors';
export * from './objections.sql';
