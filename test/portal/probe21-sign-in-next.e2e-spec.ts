import { createTestApp, TestApp, TEST_PASSWORD } from '@custodian/testing';
import { cookieOf, csrfOf } from '../support/portal-session';

/**
 * probe-21, finding 4: a sign-in link whose `next` holds a character outside Latin-1 (a path or query
 * in Cyrillic, Greek, a euro sign, an emoji: `/sign-in?next=/public-register?organisation=€`) ends,
 * after the person typed a correct password, on a 500 whose body is the raw JSON error
 * `{"statusCode":500,"code":"ERR_INVALID_CHAR",…"Invalid character in header content [\"location\"]"}`:
 * `safeNext` lets the decoded text through and Node refuses it as a `Location` header value
 * (ERR_INVALID_CHAR). The destination should be percent-encoded (or refused for the landing page).
 */
const text = (html: string) =>
  html
    .replace(/<script[\s\S]*?<\/script>/g, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&nbsp;|\s+/g, ' ');

describe('probe-21: sign-in with a non-Latin-1 destination', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  }, 120_000);
  afterAll(() => t?.close());

  it.each(['/public-register?organisation=€', '/public-register?organisation=Москва', '/requests?q=🙂'])(
    'next=%s: signed in and sent on (303), never a 500',
    async (next) => {
      const user = await t.factory.user({ roles: ['researcher'] });
      const q = `next=${encodeURIComponent(next)}`;
      const page = await t.http.get(`/sign-in?${q}`).expect(200);
      const res = await t.http
        .post(`/sign-in?${q}`)
        .set('cookie', cookieOf(page)!)
        .type('form')
        .send({ _csrf: csrfOf(page.text), email: user.email, password: TEST_PASSWORD });
      // Today: a 500 whose body is Fastify's raw JSON error, naming the header Node refused, and no
      // session cookie (the API session the sign-in opened is left behind).
      expect(res.text).not.toMatch(/ERR_INVALID_CHAR|Invalid character in header/);
      expect(text(res.text)).not.toMatch(/there is a problem with the service/);
      expect(res.status).toBe(303);
      expect(cookieOf(res)).toBeDefined();
      // Wherever it sends them, it is this site, and a header a browser can read.
      expect(String(res.headers.location)).toMatch(/^\/(?![/\\])[\x21-\x7e]*$/);
    },
  );
});
