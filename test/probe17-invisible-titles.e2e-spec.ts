import { createTestApp, TestApp } from '@custodian/testing';

/**
 * Probe 17, finding 3: a bid's title, purpose and public benefit are shown to the panel and
 * published on the public register (SPEC §6: "bid title and purpose"), so they must "hold at least
 * 3 visible characters on one line, with no control or text-direction characters" (IsPlainText,
 * the fix of an outsider's probe of 2026-12-06: a title of spaces was stored and submitted). The
 * rule is a short list of what does not show (white space, U+200B–U+200D, U+2060, U+FEFF, U+00AD)
 * and of direction overrides (U+202A–U+202E, U+2066–U+2069): a title of Hangul fillers, Braille
 * blanks, tag characters or invisible operators is "3 visible characters", direction marks
 * (U+200E, U+200F, U+061C) pass, and a line or paragraph separator (U+2028, U+2029) splits the
 * one-line title in two.
 */
describe('probe 17: bid titles that show nothing, or break the line', () => {
  let t: TestApp;
  let researcher: Awaited<ReturnType<TestApp['as']>>;
  beforeAll(async () => {
    t = await createTestApp();
    researcher = await t.as('researcher');
  });
  afterAll(() => t?.close());

  const body = (title: string) => ({
    title,
    purpose: 'Study of statins and stroke',
    publicBenefit: 'Fewer strokes in Leeds',
    legalBasis: 'none',
    requestedTier: 'anonymised',
    datasets: [{ dataset: 'gp', fields: ['sex', 'code'] }],
    durationMonths: 12,
  });

  it.each([
    ['Hangul fillers', '\u3164\u3164\u3164'],
    ['halfwidth Hangul fillers', '\uffa0\uffa0\uffa0'],
    ['Hangul choseong/jungseong fillers', '\u115f\u1160\u115f'],
    ['Braille blanks', '\u2800\u2800\u2800'],
    ['tag characters', '\u{E0041}\u{E0042}\u{E0043}'],
    ['invisible operators', '\u2062\u2063\u2064'],
    ['direction marks only', '\u200e\u200f\u200e'],
  ])('a title of %s (nothing visible) is a 400', async (_what, title) => {
    const res = await t.http.post('/api/bids').set(researcher.auth).send(body(title));
    expect({ status: res.status, title: res.body.title }).toMatchObject({ status: 400 });
  });

  it.each([
    ['a line separator', 'Statins\u2028and stroke'],
    ['a paragraph separator', 'Statins\u2029and stroke'],
    ['a right-to-left mark', 'Statins and stroke \u200f(2010-2014)'],
    ['an Arabic letter mark', 'Statins and stroke \u061c(2010-2014)'],
  ])('a title with %s is a 400 (one line, no text-direction characters)', async (_what, title) => {
    const res = await t.http.post('/api/bids').set(researcher.auth).send(body(title));
    expect({ status: res.status, title: res.body.title }).toMatchObject({ status: 400 });
  });
});
