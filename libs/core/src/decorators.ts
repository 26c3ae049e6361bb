import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { clientRequestId, internalClientIp } from './logger';

export const IS_PUBLIC = 'custodian:public';
/** The only way out of the global authentication and authorisation guards. */
export const Public = () => SetMetadata(IS_PUBLIC, true);

export type Role =
  'admin' | 'data_manager' | 'practice' | 'researcher' | 'panel_member' | 'release_officer' | 'auditor';

export const ROLES: readonly Role[] = [
  'admin',
  'data_manager',
  'practice',
  'researcher',
  'panel_member',
  'release_officer',
  'auditor',
];

/** The authenticated caller, as the JWT strategy loads it fresh from the database on every request. */
export interface Principal {
  id: string;
  email: string;
  roles: Role[];
  organisationId: string | null;
  practiceOds: string | null;
  sessionId: string;
}

export interface RequestMeta {
  requestId: string;
  /** The client's address (the browser's, for the portal's calls into the API). */
  ip: string;
  /** The client's own X-Request-Id, if it sent one: a label, never trusted as the request id. */
  clientRequestId?: string;
}

interface RequestLike {
  user?: Principal;
  id?: string;
  ip?: string;
  raw?: IncomingMessage;
}

export const CurrentUser = createParamDecorator((_data: unknown, ctx: ExecutionContext): Principal => {
  const req = ctx.switchToHttp().getRequest<RequestLike>();
  return req.user as Principal;
});

export const ReqMeta = createParamDecorator((_data: unknown, ctx: ExecutionContext): RequestMeta =>
  requestMeta(ctx.switchToHttp().getRequest<RequestLike>()),
);

export function requestMeta(req: RequestLike): RequestMeta {
  const raw = req.raw;
  const meta: RequestMeta = {
    requestId: String(req.id ?? ''),
    ip: (raw && internalClientIp(raw)) ?? req.ip ?? '',
  };
  const client = raw && clientRequestId(raw);
  if (client) meta.clientRequestId = client;
  return meta;
}
