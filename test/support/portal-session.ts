import { SESSION_COOKIE } from '@custodian/portal';
import { TestApp, TEST_PASSWORD } from '@custodian/testing';

/** A signed-in portal session in tests that drive the portal's forms over HTTP (no browser). */
export interface PortalSession {
  cookie: string;
  csrf: string;
}

/** The portal's session cookie an answer sets, as `name=value`. */
export const cookieOf = (res: { headers: Record<string, unknown> }): string | undefined =>
  ([] as string[])
    .concat((res.headers['set-cookie'] as string[] | string | undefined) ?? [])
    .find((s) => s.startsWith(`${SESSION_COOKIE}=`))
    ?.split(';')[0];

/** A page's form token. */
export const csrfOf = (html: string) => /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';

/**
 * Signs `email` in through the sign-in form (the tests' password) and returns the session with its
 * form token, read from `home` (a page with a form), else from the sign-out page.
 */
export async function portalSignIn(t: TestApp, email: string, home?: string): Promise<PortalSession> {
  const page = await t.http.get('/sign-in').expect(200);
  const res = await t.http
    .post('/sign-in')
    .set('cookie', cookieOf(page)!)
    .type('form')
    .send({ _csrf: csrfOf(page.text), email, password: TEST_PASSWORD });
  if (res.status !== 303) throw new Error(`sign-in of ${email} answered ${res.status}`);
  const cookie = cookieOf(res)!;
  const fromHome = home ? csrfOf((await t.http.get(home).set('cookie', cookie)).text) : '';
  return {
    cookie,
    csrf: fromHome || csrfOf((await t.http.get('/sign-out').set('cookie', cookie).expect(200)).text),
  };
}

/**
 * Signs `who` in as `portalSignIn` does: a user of `t.as`, or a factory bid's researcher (whose
 * type does not name the email it carries).
 */
export const signInAs = (t: TestApp, who: { user: object }, home?: string): Promise<PortalSession> =>
  portalSignIn(t, (who.user as { email: string }).email, home);

/** A page's text as a reader sees it: no scripts, no tags, white space folded. */
export const pageText = (html: string) =>
  html
    .replace(/<script[\s\S]*?<\/script>/g, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&nbsp;|\s+/g, ' ');

/** Sends a form of the portal at `path` as `session` does, its form token added. */
export const postForm = (t: TestApp, session: PortalSession, path: string, form: Record<string, unknown>) =>
  t.http
    .post(path)
    .set('cookie', session.cookie)
    .type('form')
    .send({ _csrf: session.csrf, ...form });
