import { ArgumentsHost, Catch, ExceptionFilter, Injectable, Logger } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { toErrorBody } from '@custodian/core';
import type { PortalRequest } from './portal-api';
import { ApiCallError, PortalPageError, PortalRedirect } from './portal-errors';
import { PortalViews } from './portal-views';

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
      if ([400, 409].includes(status) && exception.body?.message) detail = exception.body.message;
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
    try {
      this.views.page(req, reply, 'error.njk', { status, title, detail }, status);
    } catch {
      reply.status(status).header('content-type', 'text/plain; charset=utf-8').send(title);
    }
  }
}
