import { PATTERNS } from './patterns';
import { createHash } from 'node:crypto';
import { request as httpRequest, IncomingMessage } from 'node:http';
import { AddressInfo } from 'node:net';
import { Inject, Injectable } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { APP_CONFIG, AppConfig, internalCallHeaders } from '@custodian/core';
import { ApiCallError, PortalRedirect } from './portal-errors';
import { newCsrfToken, PortalSession } from './session-cookie';

/** What the portal keeps per request: the opened session and whether the cookie must be rewritten. */
export interface PortalState {
  session: PortalSession;
  dirty: boolean;
  /** The signed-in user's unread notices, for the header's link (#25). */
  unread?: number;
}

export type PortalRequest = FastifyRequest & { portal?: PortalState };

export interface ApiAnswer<T = unknown> {
  status: number;
  body: T;
  headers: Record<string, string | string[] | number | undefined>;
}

interface TokenPair {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
}

const now = () => Math.floor(Date.now() / 1000);
/** How long a rotated refresh token is remembered (longer than any access token's last minute). */
const ROTATED_MEMORY_MS = 120_000;

/**
 * The portal's way into the API: every read and write of a page is an in-process HTTP request
 * (Fastify `inject`) to `/api/...` with the signed-in user's bearer token, so the API's guards,
 * validation, scoping and audit apply exactly as to any external client. Expired access tokens
 * are refreshed transparently (once, shared between concurrent requests of the same session).
 */
@Injectable()
export class PortalApi {
  /** Refreshes in flight, by (a digest of) the refresh token presented: rotation happens once. */
  private readonly refreshing = new Map<string, Promise<TokenPair | undefined>>();
  /** Refresh tokens (digests) this process rotated lately, with when to forget them. */
  private readonly rotated = new Map<string, number>();

  constructor(
    private readonly host: HttpAdapterHost,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  private get fastify(): FastifyInstance {
    return this.host.httpAdapter.getInstance<FastifyInstance>();
  }

  /** A raw call, without a user (sign-in, the public register). */
  async anonymous<T>(
    req: FastifyRequest,
    method: string,
    url: string,
    payload?: unknown,
  ): Promise<ApiAnswer<T>> {
    return this.inject<T>(req, method, url, undefined, payload);
  }

  /** A call with a token just obtained (at sign-in, before the session holds it). */
  async withToken<T>(req: FastifyRequest, token: string, method: string, url: string): Promise<ApiAnswer<T>> {
    return this.inject<T>(req, method, url, token);
  }

  /** A call as the signed-in user; redirects to sign-in when the session has ended. */
  async call<T>(req: PortalRequest, method: string, url: string, payload?: unknown): Promise<ApiAnswer<T>> {
    const state = req.portal!;
    await this.ensureFresh(req);
    const auth = state.session.auth;
    if (!auth) throw this.signInAgain(req);
    let res = await this.inject<T>(req, method, url, auth.accessToken, payload);
    if (res.status === 401) {
      // The access token was refused (expired early, or the session was revoked): one refresh, one retry.
      if (!(await this.refresh(req))) throw this.signInAgain(req);
      res = await this.inject<T>(req, method, url, state.session.auth!.accessToken, payload);
      if (res.status === 401) throw this.signInAgain(req);
    }
    return res;
  }

  /** Like call(), but any status other than those expected is an error page. */
  async expect<T>(
    req: PortalRequest,
    method: string,
    url: string,
    payload?: unknown,
    ok: number[] = [200, 201, 202, 204],
  ): Promise<T> {
    const res = await this.call<T>(req, method, url, payload);
    if (!ok.includes(res.status)) throw new ApiCallError(res.status, res.body as ApiCallError['body']);
    return res.body;
  }

  /** Refreshes the access token shortly before it expires, so pages rarely see a 401. */
  async ensureFresh(req: PortalRequest): Promise<void> {
    const auth = req.portal?.session.auth;
    if (auth && auth.accessExp - now() < 30) {
      if (!(await this.refresh(req))) throw this.signInAgain(req);
    }
  }

  /**
   * Rotates the refresh token; the new pair goes into the session cookie. Requests of one session
   * that arrive while its rotation is in flight share it (they hold the same cookie); once it is
   * done, the old token is remembered as rotated, and a later request presenting it is never given
   * the new pair (which went to the browser that asked): it may go on with its own access token
   * while that is still valid, and is otherwise signed out. The pair is never handed to anyone
   * presenting the old token, so the API's reuse detection is not bypassed.
   */
  async refresh(req: PortalRequest): Promise<boolean> {
    const state = req.portal!;
    const auth = state.session.auth;
    if (!auth) return false;
    const presented = createHash('sha256').update(auth.refreshToken).digest('base64url');
    if (this.rotated.has(presented)) {
      if (auth.accessExp > now()) return true;
      state.session = { csrf: newCsrfToken(), exp: state.session.exp };
      state.dirty = true;
      return false;
    }
    let pending = this.refreshing.get(presented);
    if (!pending) {
      pending = this.inject<TokenPair>(req, 'POST', '/api/auth/refresh', undefined, {
        refreshToken: auth.refreshToken,
      })
        .then((r) => (r.status === 200 ? r.body : undefined))
        .finally(() => {
          this.refreshing.delete(presented);
          this.rotated.set(presented, Date.now() + ROTATED_MEMORY_MS);
          this.forgetOldRotations();
        });
      this.refreshing.set(presented, pending);
    }
    const pair = await pending;
    if (!pair) {
      state.session = { csrf: newCsrfToken(), exp: state.session.exp };
      state.dirty = true;
      return false;
    }
    auth.accessToken = pair.accessToken;
    auth.refreshToken = pair.refreshToken;
    auth.accessExp = now() + pair.expiresIn;
    state.dirty = true;
    return true;
  }

  private forgetOldRotations(): void {
    const t = Date.now();
    for (const [k, until] of this.rotated) if (until < t) this.rotated.delete(k);
  }

  private signInAgain(req: PortalRequest): PortalRedirect {
    const state = req.portal!;
    state.session = {
      csrf: newCsrfToken(),
      exp: state.session.exp,
      // Not "Success": the session ended (signed out elsewhere, or the account was disabled).
      flash: {
        title: 'Your session has ended',
        body: 'Sign in again to go on. If your account has been disabled, an administrator can enable it.',
        kind: 'warning',
      },
    };
    state.dirty = true;
    return new PortalRedirect(`/sign-in?next=${encodeURIComponent(safeNext(req.url))}`, 303);
  }

  private async inject<T>(
    req: FastifyRequest,
    method: string,
    url: string,
    token: string | undefined,
    payload?: unknown,
  ): Promise<ApiAnswer<T>> {
    const headers: Record<string, string> = {
      accept: 'application/json',
      // The portal request's id and the browser's address, so the API's audit names both.
      ...internalCallHeaders(req.id, req.ip),
    };
    if (token) headers.authorization = `Bearer ${token}`;
    if (payload !== undefined) headers['content-type'] = 'application/json';
    const res = await this.fastify.inject({
      method: method as 'GET',
      url,
      headers,
      // The caller's own address, so the API's throttling and audit see the real client.
      remoteAddress: req.ip,
      payload: payload === undefined ? undefined : JSON.stringify(payload),
    });
    const type = String(res.headers['content-type'] ?? '');
    const body = (type.includes('application/json') && res.body ? res.json() : res.body) as T;
    return { status: res.statusCode, body, headers: res.headers };
  }

  /**
   * A release file, streamed: a real loopback HTTP request to this server (Fastify's `inject`
   * would buffer the whole file), with the user's token. The caller pipes the answer to the browser.
   */
  async stream(req: PortalRequest, url: string, range?: string): Promise<IncomingMessage> {
    await this.ensureFresh(req);
    const auth = req.portal?.session.auth;
    if (!auth) throw this.signInAgain(req);
    const address = this.fastify.server.address() as AddressInfo | null;
    if (!address || typeof address !== 'object') throw new ApiCallError(503, { message: 'Not listening' });
    return new Promise((resolve, reject) => {
      const r = httpRequest(
        {
          host: address.family === 'IPv6' ? '::1' : '127.0.0.1',
          port: address.port,
          path: url,
          method: 'GET',
          headers: {
            authorization: `Bearer ${auth.accessToken}`,
            // A loopback connection: the audit takes the browser's address and the page's request id.
            ...internalCallHeaders(req.id, req.ip),
            ...(range ? { range } : {}),
          },
        },
        resolve,
      );
      r.on('error', reject);
      r.end();
    });
  }

  /**
   * An upload, streamed: the browser's body is piped to a loopback HTTP request to this server with
   * the user's token (memory stays flat whatever the file size); the API's JSON answer comes back.
   */
  async upload<T>(
    req: PortalRequest,
    method: 'PUT' | 'POST',
    url: string,
    contentType: string,
    body: NodeJS.ReadableStream,
  ): Promise<ApiAnswer<T>> {
    await this.ensureFresh(req);
    const auth = req.portal?.session.auth;
    if (!auth) throw this.signInAgain(req);
    const address = this.fastify.server.address() as AddressInfo | null;
    if (!address || typeof address !== 'object') throw new ApiCallError(503, { message: 'Not listening' });
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const r = httpRequest(
        {
          host: address.family === 'IPv6' ? '::1' : '127.0.0.1',
          port: address.port,
          path: url,
          method,
          headers: {
            authorization: `Bearer ${auth.accessToken}`,
            accept: 'application/json',
            'content-type': contentType,
            ...internalCallHeaders(req.id, req.ip),
          },
        },
        resolve,
      );
      r.on('error', reject);
      body.on('error', (e) => r.destroy(e));
      body.pipe(r);
    });
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    let parsed: unknown = text;
    if (String(res.headers['content-type'] ?? '').includes('application/json') && text)
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
    return { status: res.statusCode ?? 500, body: parsed as T, headers: res.headers };
  }

  get accessTtl(): number {
    return this.config.accessTokenTtlSeconds;
  }
}

/** Only same-site paths may be a destination after sign-in (no open redirect). */
export function safeNext(next: unknown): string {
  const s = typeof next === 'string' ? next : '/';
  if (!PATTERNS.sitePath.test(s) || s.startsWith('/sign-in') || s.startsWith('/sign-out')) return '/';
  // A header carries printable ASCII only: other characters percent-encoded (a `next` with `€` or
  // Cyrillic was a 500 after a correct password, Node refusing the Location header; probe 21). A
  // text that cannot be encoded (a lone surrogate) goes to the landing page.
  try {
    return s.replace(/[^\x21-\x7e]+/gu, (c) => encodeURIComponent(c));
  } catch {
    return '/';
  }
}
