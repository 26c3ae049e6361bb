import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuditService } from '@custodian/audit';
import { APP_CONFIG, AppConfig, requestMeta } from '@custodian/core';
import { NotificationsService } from '@custodian/notifications';
import { PORTAL_ACCESS, PORTAL_UPLOAD, PortalAccess } from './portal.decorators';
import { PortalApi, PortalRequest, safeNext } from './portal-api';
import { PortalPageError, PortalRedirect } from './portal-errors';
import { formWithinLimits } from './form';
import {
  csrfMatches,
  deriveSessionKey,
  newCsrfToken,
  openSession,
  parseCookies,
  SESSION_COOKIE,
} from './session-cookie';

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * The portal's own gate, run on every portal route (the API's guards let them through as @Public):
 * opens the session cookie, checks the CSRF token of every form, and sends anyone without the
 * page's roles to sign-in (not signed in) or an error page (signed in without the role).
 */
@Injectable()
export class PortalAuthGuard implements CanActivate {
  private readonly key: Buffer;

  constructor(
    private readonly reflector: Reflector,
    private readonly api: PortalApi,
    private readonly audit: AuditService,
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly notifications: NotificationsService,
  ) {
    this.key = deriveSessionKey(config.jwtSecret);
  }

  get sessionKey(): Buffer {
    return this.key;
  }

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const req = ctx.switchToHttp().getRequest<PortalRequest>();
    const access = this.reflector.getAllAndOverride<PortalAccess | undefined>(PORTAL_ACCESS, [
      ctx.getHandler(),
      ctx.getClass(),
    ]);
    const opened = openSession(this.key, parseCookies(req.headers.cookie)[SESSION_COOKIE]);
    req.portal = opened
      ? { session: opened, dirty: false }
      : {
          session: { csrf: newCsrfToken(), exp: Math.floor(Date.now() / 1000) + 12 * 3600 },
          dirty: true,
        };
    const upload = this.reflector.get<boolean | undefined>(PORTAL_UPLOAD, ctx.getHandler()) === true;
    if (UNSAFE.has(req.method) && upload) {
      // The body is a multipart stream: its token is checked by the handler (assertUploadCsrf)
      // before any use.
      if (!opened) await this.refuseForm(req);
    } else if (UNSAFE.has(req.method)) {
      // A streamed upload route's body is the file itself (the page's script sends it with its
      // progress): its CSRF token comes in a header, and the API limits the body.
      const streamed = (req.routeOptions?.config as { streamedBody?: string } | undefined)?.streamedBody;
      const body = streamed
        ? { _csrf: req.headers['x-csrf-token'] }
        : ((req.body ?? {}) as Record<string, unknown>);
      // Before anything reads a field (CSRF, patterns, the API): no value longer than any field may
      // be, no more values than any form has.
      if (!formWithinLimits(body))
        throw new PortalPageError(
          413,
          'Your form is too large',
          'A field of the form is longer than this service accepts. Go back, shorten it and try again.',
        );
      if (!opened || !csrfMatches(opened, body._csrf)) await this.refuseForm(req);
    }
    if (access === undefined) throw new PortalPageError(404, 'Page not found', 'This page does not exist.');
    const auth = req.portal.session.auth;
    // The header's "Notifications (n)" on every page a signed-in user reads.
    if (auth && req.method === 'GET')
      req.portal.unread = await this.notifications.unreadCount(auth.user.id).catch(() => undefined);
    if (access === 'public') return true;
    if (!auth) throw new PortalRedirect(`/sign-in?next=${encodeURIComponent(safeNext(req.url))}`, 303);
    if (access !== 'signed-in' && !access.some((r) => auth.user.roles.includes(r))) {
      throw new PortalPageError(
        403,
        'You cannot use this page',
        'Your account does not have the role this page needs. If you think it should, contact the data centre.',
      );
    }
    await this.api.ensureFresh(req);
    return true;
  }

  /** An upload's token, read from the fields before its file: refused (403, audited) unless it matches. */
  async assertUploadCsrf(req: PortalRequest, token: unknown): Promise<void> {
    const session = req.portal?.session;
    if (!session || !csrfMatches(session, token)) await this.refuseForm(req);
  }

  private async refuseForm(req: PortalRequest): Promise<never> {
    // Counted when repeated (recordDenial): a loop of forged forms must not flood the chain.
    await this.audit.recordDenial({
      action: 'portal.csrf_rejected',
      outcome: 'denied',
      meta: requestMeta(req),
      details: { route: req.routeOptions?.url, method: req.method },
    });
    throw new PortalPageError(
      403,
      'Your form could not be sent',
      'The page you sent the form from had expired, or did not come from this service. Go back, reload the page and try again.',
    );
  }
}
