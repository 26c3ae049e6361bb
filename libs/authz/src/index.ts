export * from './ability';
export * from './authz.module';

export * from './policies.guard';
