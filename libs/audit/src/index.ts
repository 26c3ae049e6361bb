export * from './audit-chain';
export * from './audit.module';
export * from './audit.service';
export * from './audit-http.module';
export * from './audit-denials.interceptor';
export * from './denial-sweeper';
