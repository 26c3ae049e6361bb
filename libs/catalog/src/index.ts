export * from './catalog-http.module';
export * from './catalog.module';
export * from './catalog.service';
export * from './dto';
export * from './tiers';
export * from './catalog.controller';
export * from './catalogue';
