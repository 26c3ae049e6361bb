import { CallHandler, ExecutionContext, Injectable, Logger, NestInterceptor } from '@nestjs/common';
import { catchError, from, Observable, switchMap, throwError } from 'rxjs';
import { DomainError, Principal, requestMeta } from '@custodian/core';
import { AuditService } from './audit.service';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface RequestLike {
  user?: Principal;
  id?: string;
  ip?: string;
  method?: string;
  params?: Record<string, string | undefined>;
  routeOptions?: { url?: string };
}

/**
 * The one place that audits object-level refusals (SPEC §6: "authorisation denials, object-level
 * 404s included"): an authenticated request whose handler answers 403 or 404 is recorded as
 * `access.denied` with the actor, the route pattern, the method and the object's id from the path.
 *
 * - It is written in its own transaction (the request's own one has rolled back by now), through
 *   `recordDenial`, so a client repeating a refusal makes one counted entry a minute, not a flood.
 * - It runs the same way whether the object exists elsewhere or not at all, and the client gets the
 *   handler's error unchanged: the entry reveals nothing, and a failed audit write is logged, never
 *   turned into a different answer.
 * - Refusals by the guards (401, route-level 403) are audited by the guards; a service that already
 *   recorded its own denial for the request (with its bid and reason) is not recorded twice.
 */
@Injectable()
export class AuditDenialsInterceptor implements NestInterceptor {
  private readonly logger = new Logger('AuditDenials');

  constructor(private readonly audit: AuditService) {}

  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (ctx.getType() !== 'http') return next.handle();
    const req = ctx.switchToHttp().getRequest<RequestLike>();
    return next.handle().pipe(
      catchError((err: unknown) => {
        if (!(err instanceof DomainError) || (err.status !== 403 && err.status !== 404) || !req.user)
          return throwError(() => err);
        return from(this.recordRefusal(req, err)).pipe(switchMap(() => throwError(() => err)));
      }),
    );
  }

  private async recordRefusal(req: RequestLike, err: DomainError): Promise<void> {
    const meta = requestMeta(req);
    if (this.audit.deniedIn(meta.requestId)) return;
    const route = req.routeOptions?.url ?? '';
    // Path parameters are ids (uuids, ODS codes, file names); bodies and queries, which can hold
    // patient identifiers, are never copied.
    const params = req.params ?? {};
    const subjectId = (params.id ?? params.ods ?? null)?.slice(0, 80) ?? null;
    const subjectType = /^\/api\/([a-z-]+)/.exec(route)?.[1] ?? null;
    const bidId = subjectType === 'bids' && subjectId && UUID.test(subjectId) ? subjectId : null;
    try {
      await this.audit.recordDenial({
        action: 'access.denied',
        outcome: 'denied',
        actor: req.user,
        bidId,
        subjectType,
        subjectId,
        meta,
        details: { method: req.method, route, status: err.status, code: err.code },
      });
    } catch (e) {
      this.logger.error(
        { reqId: meta.requestId, err: { message: (e as Error)?.message } },
        'could not audit a refusal',
      );
    }
  }
}
