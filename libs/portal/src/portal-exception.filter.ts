import { ArgumentsHost, Catch, ExceptionFilter, Injectable, Logger } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { toErrorBody } from '@custodian/core';
import type { PortalRequest } from './portal-api';
import { ApiCallError, PortalPageError, PortalRedirect } from './portal-errors';
import { PortalViews } from './portal-views';
import { plainRefusal, requestPageOf } from './refusals';

const TITLES: Record<number, [string, string]> = {
  400: ['There is a problem with your request', 'Check what you entered and try again.'],
  403: ['You cannot do this', 'Your account is not allowed to do this.'],
  404: [
    'Page not found',
    'If you typed the web address, check it is correct. If you pasted it, check you copied all of it.',
  ],
  409: ['This cannot be done now', 'The request is not in a state that allows this.'],
  429: ['Too many attempts', 'Wait a little, then try again.'],
  503: ['Sorry, the service is unavailable', 'Try again in a few minutes.'],
};

/**
 * Errors on portal pages become NHS-style error pages (never a stack trace or a raw API body);
 * redirects thrown by the portal's guard or API client become 303s.
 */
@Catch()
@Injectable()
export class PortalExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('Portal');

  constructor(private readonly views: PortalViews) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const req = host.switchToHttp().getRequest<PortalRequest>();
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    if (reply.sent) return;
    if (exception instanceof PortalRedirect) {
      reply.redirect(exception.location, exception.status);
      return;
    }
    let status: number;
    let title: string;
    let detail: string;
    if (exception instanceof PortalPageError) {
      ({ status, title, detail } = exception);
    } else if (exception instanceof ApiCallError) {
      status = exception.status >= 500 ? 500 : exception.status;
      [title, detail] = TITLES[status] ?? ['Sorry, there is a problem with the service', 'Try again later.'];
      // A refusal of a change in plain words (never the API's state names or paths).
      const plain = status === 409 ? plainRefusal(exception.body) : undefined;
      if (plain) detail = plain;
      else if ([400, 409].includes(status) && exception.body?.message) detail = exception.body.message;
    } else {
      const body = toErrorBody(exception);
      if (req.url.startsWith('/api/') || req.url === '/api') {
        reply.status(body.statusCode).send(body);
        return;
      }
      status = body.statusCode;
      [title, detail] = TITLES[status] ?? ['Sorry, there is a problem with the service', 'Try again later.'];
    }
    if (status >= 500) {
      const e = exception as { name?: string; message?: string; stack?: string };
      this.logger.error(
        { err: { name: e?.name, message: e?.message, stack: e?.stack } },
        'portal page failed',
      );
      title = 'Sorry, there is a problem with the service';
      detail = 'Try again later. If the problem continues, contact the data centre.';
    }
    // Back to the page the person was on (a form refused as the request stood, say): a referring
    // page of this site only, never another origin's address.
    const backHref = status < 500 && status !== 404 ? sameSiteReferrer(req) : undefined;
    // A refusal about a request links back to it (the page the person was acting on), a 404 never
    // (it would say the request exists).
    const requestHref = status !== 404 && status < 500 ? requestPageOf(req.url) : undefined;
    try {
      this.views.page(req, reply, 'error.njk', { status, title, detail, backHref, requestHref }, status);
    } catch {
      reply.status(status).header('content-type', 'text/plain; charset=utf-8').send(title);
    }
  }
}

/** The Referer's path and query where it is a portal page of this host, else undefined. */
export function sameSiteReferrer(req: PortalRequest): string | undefined {
  const referer = req.headers.referer;
  const host = req.headers.host;
  if (typeof referer !== 'string' || !host) return undefined;
  try {
    const url = new URL(referer);
    if (url.host !== host || !['http:', 'https:'].includes(url.protocol)) return undefined;
    const path = url.pathname;
    // A path of this host, never one a browser reads as another host's ("//evil.example/…",
    // "/\\evil.example": a review) nor the API.
    if (!path.startsWith('/') || path.startsWith('//') || path.includes('\\') || path.startsWith('/api'))
      return undefined;
    const back = `${path}${url.search}`;
    // The page itself (a GET refused): no link to where the person already is. A form posted to its
    // own address leads back to it.
    return back === req.url && req.method === 'GET' ? undefined : back;
  } catch {
    return undefined;
  }
}
