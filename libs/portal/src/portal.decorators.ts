import { applyDecorators, Controller, RequestMethod, SetMetadata, UseFilters } from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import { ApiExcludeController } from '@nestjs/swagger';
import { Public, Role } from '@custodian/core';
import { PortalExceptionFilter } from './portal-exception.filter';

/** Marks a controller as part of the portal: HTML pages outside `/api`, excluded from the API's route lists. */
export const PORTAL = 'custodian:portal';
/** Who may open a portal page: `public`, `signed-in` (any role) or a list of roles. */
export const PORTAL_ACCESS = 'custodian:portal-access';
export type PortalAccess = 'public' | 'signed-in' | Role[];

/**
 * A portal controller. Its routes are `@Public()` to the API's bearer-token guards (a browser carries
 * no bearer token) and enforce the portal's own session check instead (PortalAuthGuard, by
 * `@PageAccess`). Pages call the API in-process with the user's token, so the API's own guards
 * still decide every read and write.
 */
export const PortalController = (path = '') =>
  applyDecorators(
    Controller(path),
    SetMetadata(PORTAL, true),
    Public(),
    ApiExcludeController(),
    UseFilters(PortalExceptionFilter),
  );

export const PageAccess = (access: PortalAccess) => SetMetadata(PORTAL_ACCESS, access);

/** An upload form: its body (`multipart/form-data`) is streamed, and its CSRF token is checked in the stream. */
export const PORTAL_UPLOAD = 'custodian:portal-upload';
export const UPLOAD_TYPE = 'multipart/form-data';

/**
 * A page that takes a file: the body reaches the handler unparsed (streamed, never held whole), so
 * PortalAuthGuard cannot read its `_csrf` field; the handler must pass it to
 * `PortalAuthGuard.assertUploadCsrf` before it forwards a byte (`streamMultipart` hands it the
 * fields that precede the file).
 */
export const UploadForm = () =>
  applyDecorators(RouteConfig({ streamedBody: UPLOAD_TYPE }), SetMetadata(PORTAL_UPLOAD, true));

export interface PortalRoute {
  method: string;
  path: string;
  access: string;
}

/** Every route of the given portal controllers (for the global-prefix exclusion and the route snapshot). */
export function portalRoutes(controllers: readonly (new (...args: never[]) => unknown)[]): PortalRoute[] {
  const routes: PortalRoute[] = [];
  for (const ctrl of controllers) {
    const base = ([] as string[]).concat(Reflect.getMetadata('path', ctrl) ?? '')[0];
    const proto = ctrl.prototype as Record<string, unknown>;
    for (const name of Object.getOwnPropertyNames(proto)) {
      if (name === 'constructor') continue;
      const handler = proto[name];
      if (typeof handler !== 'function') continue;
      const path = Reflect.getMetadata('path', handler);
      if (path === undefined) continue;
      const method = RequestMethod[Reflect.getMetadata('method', handler) as number];
      const access: PortalAccess | undefined =
        Reflect.getMetadata(PORTAL_ACCESS, handler) ?? Reflect.getMetadata(PORTAL_ACCESS, ctrl);
      const full =
        `/${[base, ([] as string[]).concat(path)[0]].filter((p) => p && p !== '/').join('/')}`.replace(
          /\/+/g,
          '/',
        );
      routes.push({
        method,
        path: full,
        access: access === undefined ? 'UNDECLARED' : Array.isArray(access) ? access.join(',') : access,
      });
    }
  }
  return routes.sort((a, b) => a.path.localeCompare(b.path) || a.method.localeCompare(b.method));
}
