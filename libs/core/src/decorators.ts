import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';

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
  ip: string;
}

interface RequestLike {
  user?: Principal;
  id?: string;
  ip?: string;
}

export const CurrentUser = createParamDecorator((_data: unknown, ctx: ExecutionContext): Principal => {
  const req = ctx.switchToHttp().getRequest<RequestLike>();
  return req.user as Principal;
});

export const ReqMeta = createParamDecorator((_data: unknown, ctx: ExecutionContext): RequestMeta =>
  requestMeta(ctx.switchToHttp().getRequest<RequestLike>()),
);

export function requestMeta(req: RequestLike): RequestMeta {
  return { requestId: String(req.id ?? ''), ip: req.ip ?? '' };
}
