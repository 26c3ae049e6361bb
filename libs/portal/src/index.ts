export * from './portal.decorators';
export * from './portal.module';
export * from './register-portal';
export * from './session-cookie';
export { inlineScriptHashes } from './views';
