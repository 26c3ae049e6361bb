import path from 'node:path';
import fastifyStatic from '@fastify/static';
import { RequestMethod } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
type RouteInfo = { path: string; method: RequestMethod };
import type { FastifyReply } from 'fastify';
import { AppConfig } from '@custodian/core';
import { portalRoutes } from './portal.decorators';
import { PORTAL_CONTROLLERS } from './portal.module';
import type { PortalRequest } from './portal-api';
import { PortalViews } from './portal-views';
import { deriveSessionKey, sealSession, sessionCookieHeader } from './session-cookie';
import { NHSUK_DIST, PORTAL_ROOT } from './views';

/** The portal's routes, kept out of the `/api` global prefix (the API's own routes are unchanged). */
export function portalPrefixExclusions(): RouteInfo[] {
  return portalRoutes([...PORTAL_CONTROLLERS]).map((r) => ({
    path: r.path,
    method: RequestMethod[r.method as keyof typeof RequestMethod],
  }));
}

/**
 * Static assets (nhsuk-frontend's CSS, JS and images; the portal's own CSS and JS) under /assets,
 * and the hook that writes the session cookie whenever a page changed the session. Call before init.
 */
export async function registerPortal(app: NestFastifyApplication, config: AppConfig): Promise<void> {
  const fastify = app.getHttpAdapter().getInstance();
  const nhsuk = path.join(NHSUK_DIST, 'nhsuk');
  await app.register(fastifyStatic as never, {
    root: path.join(nhsuk, 'assets'),
    prefix: '/assets/',
    decorateReply: false,
    index: false,
    list: false,
    maxAge: 3_600_000,
  });
  await app.register(fastifyStatic as never, {
    root: nhsuk,
    prefix: '/assets/nhsuk/',
    decorateReply: false,
    index: false,
    list: false,
    maxAge: 3_600_000,
    allowedPath: (p: string) => /^\/nhsuk-frontend(-dynamic-type)?\.min\.(css|js)(\.map)?$/.test(p),
  });
  await app.register(fastifyStatic as never, {
    root: path.join(PORTAL_ROOT, 'public'),
    prefix: '/assets/portal/',
    decorateReply: false,
    index: false,
    list: false,
  });
  const key = deriveSessionKey(config.jwtSecret);
  fastify.addHook('onSend', async (req, reply: FastifyReply, payload) => {
    const state = (req as PortalRequest).portal;
    if (state?.dirty) reply.header('set-cookie', sessionCookieHeader(sealSession(key, state.session)));
    // An unknown page outside the API: the portal's "Page not found", not the API's JSON body.
    if (
      reply.statusCode === 404 &&
      !state &&
      req.method === 'GET' &&
      !req.url.startsWith('/api') &&
      !req.url.startsWith('/assets/') &&
      String(req.headers.accept ?? '').includes('text/html')
    ) {
      reply.header('content-type', 'text/html; charset=utf-8');
      return app.get(PortalViews).render(req as PortalRequest, 'error.njk', {
        title: 'Page not found',
        detail:
          'If you typed the web address, check it is correct. If you pasted it, check you copied all of it.',
      });
    }
    return payload;
  });
}
