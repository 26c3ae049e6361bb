export { PORTAL, portalRoutes } from './portal.decorators';
export { PORTAL_CONTROLLERS, PortalHttpModule } from './portal.module';
export { portalPrefixExclusions, registerPortal } from './register-portal';
export { deriveSessionKey, openSession, sealSession, SESSION_COOKIE } from './session-cookie';
export { inlineScriptHashes } from './views';
