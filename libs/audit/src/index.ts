export { canonicalJson, type ChainedFields, chainHash, GENESIS_HASH } from './audit-chain';
export { AuditModule } from './audit.module';
export { AuditService } from './audit.service';
export { AuditHttpModule } from './audit-http.module';
export { AUDIT_LOG_SOURCE } from './sources';
