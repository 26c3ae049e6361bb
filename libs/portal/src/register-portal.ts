import { readFileSync } from 'node:fs';
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

/** A stylesheet without its @font-face rules, so it asks for nothing outside this service. */
export function selfContainedStylesheet(file: string): string {
  return readFileSync(file, 'utf8').replace(/@font-face\s*\{[^}]*\}/g, '');
}

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
    // The stylesheet is served below, without its web fonts; the scripts as they are.
    allowedPath: (p: string) => /^\/nhsuk-frontend(-dynamic-type)?\.min\.(js(\.map)?|css\.map)$/.test(p),
  });
  // nhsuk-frontend's stylesheet loads its fonts from assets.nhs.uk (a licensed typeface that is the
  // NHS's, not ours to serve): the portal must work with no internet and under a CSP of 'self', so
  // the @font-face rules are left out and the system fonts of the NHS font stack (Arial) are used.
  const css = selfContainedStylesheet(path.join(nhsuk, 'nhsuk-frontend.min.css'));
  fastify.get('/assets/nhsuk/nhsuk-frontend.min.css', (_req, reply) => {
    reply
      .header('content-type', 'text/css; charset=utf-8')
      .header('cache-control', 'public, max-age=3600')
      .send(css);
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
    // An unknown page outside the API: the portal's "Page not found", not the API's JSON body,
    // whatever the client accepts (every portal address answers HTML: an outsider's probe got JSON
    // for `/requests/:id/releases/:rid/files/%2e%2e` without an Accept header).
    if (
      reply.statusCode === 404 &&
      !req.url.startsWith('/api') &&
      !req.url.startsWith('/assets/') &&
      !String(reply.getHeader('content-type') ?? '').startsWith('text/html')
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
