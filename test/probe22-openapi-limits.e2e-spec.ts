import { readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { createTestApp, TestApp } from '@custodian/testing';
import { BID_BODY } from '../libs/testing/src/bids';

/**
 * probe-22 #1 (outside tester, schema-driven fuzzer: "schema-compliant request rejected").
 *
 * docs/openapi.json (= /api/docs-json) leaves out limits the server enforces with 400
 * VALIDATION_FAILED, so a client generated from it, or a fuzzer, sends requests the document
 * allows and the server refuses:
 * - `PATCH /api/bids/{id}` (UpdateBidDto): no minLength/maxLength on title, purpose, publicBenefit;
 *   durationMonths is `number` (not an integer 1–36); no minItems/maxItems on datasets, recipients;
 * - `PATCH /api/bids/{id}/amendments/{version}` (UpdateAmendmentDto): no limit at all, and no
 *   `additionalProperties: false` (SPEC §7: "unknown properties rejected");
 * - arrays the server keeps unique (recipients, cohort.postcodeAreas, cohort.conditionCodes,
 *   aggregation.dimensions, datasets[].fields) have no `uniqueItems`;
 * - `odsCode` (POST /api/practices), cohort `eventsFrom`/`eventsTo` and the register's `from`/`to`
 *   are bare strings (the server wants an ODS code, a calendar date);
 * - every `{id}` path parameter is `{"type":"string"}` (the server wants a UUID), and `{version}` is
 *   `number` (the server wants an integer).
 * Cause: apps/api/src/openapi.ts `applyValidationRules` copies class-validator rules registered on a
 * class itself (rules PartialType/OmitType inherit are not found under the derived class),
 * maps no `arrayUnique`, no custom validator (IsOdsCode, IsCalendarDate), and path pipes
 * (ParseUUIDPipe, ParseIntPipe) not at all.
 */
const doc = JSON.parse(readFileSync(path.join(__dirname, '..', 'docs', 'openapi.json'), 'utf8')) as {
  paths: Record<string, Record<string, { parameters?: { name: string; in: string; schema?: unknown }[] }>>;
};
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addVocabulary(['example', 'discriminator', 'xml', 'externalDocs']);
ajv.addSchema(doc as object, 'openapi');
const esc = (s: string) => s.replace(/~/g, '~0').replace(/\//g, '~1');
/** Whether the document's schema for this request body accepts `body`. */
const bodyAllowed = (route: string, method: string, body: unknown) =>
  ajv.validate(
    { $ref: `openapi#/paths/${esc(route)}/${method}/requestBody/content/application~1json/schema` },
    body,
  );
/** Whether the document's schema for this parameter accepts `value` (as its type reads it). */
const paramAllowed = (route: string, method: string, name: string, value: unknown) => {
  const p = doc.paths[route][method].parameters!.find((x) => x.name === name)!;
  return ajv.validate(p.schema as object, value);
};

describe('probe-22 #1: what the document allows, the server accepts', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t?.close());

  it('request bodies: every body the document allows is not refused as invalid (400)', async () => {
    const researcher = await t.as('researcher');
    const admin = await t.as('admin');
    const draft = await t.factory.bid('draft', { researcher });
    const active = await t.factory.bid('active');
    await t.http
      .post(`/api/bids/${active.id}/amendments`)
      .set(active.researcher.auth)
      .send({ reason: 'A longer term is needed for follow-up', durationMonths: 24 })
      .expect(201);
    const cases: {
      route: string;
      method: 'patch' | 'post';
      url: string;
      auth: { Authorization: string };
      body: unknown;
    }[] = [
      ...[
        { title: '' },
        { purpose: 'short' },
        { durationMonths: 1.5 },
        { durationMonths: 37 },
        { datasets: [] },
        { recipients: [] },
        { recipients: [researcher.user.id, researcher.user.id] },
        { cohort: { postcodeAreas: ['LS', 'LS'] } },
        { cohort: { eventsFrom: 'yesterday' } },
        { datasets: [{ dataset: 'gp', fields: ['sex', 'sex'] }] },
        { aggregation: { dimensions: ['sex', 'sex'] } },
      ].map((body) => ({
        route: '/api/bids/{id}',
        method: 'patch' as const,
        url: `/api/bids/${draft.id}`,
        auth: researcher.auth,
        body,
      })),
      ...[{ unknownProperty: 1 }, { reason: 'short' }, { durationMonths: 99 }, { recipients: [] }].map(
        (body) => ({
          route: '/api/bids/{id}/amendments/{version}',
          method: 'patch' as const,
          url: `/api/bids/${active.id}/amendments/2`,
          auth: active.researcher.auth,
          body,
        }),
      ),
      {
        route: '/api/bids',
        method: 'post',
        url: '/api/bids',
        auth: researcher.auth,
        body: { ...BID_BODY, cohort: { conditionCodes: ['X1', 'X1'] } },
      },
      {
        route: '/api/practices',
        method: 'post',
        url: '/api/practices',
        auth: admin.auth,
        body: { odsCode: 'zz', name: 'Probe 22 surgery' },
      },
    ];
    const refused: string[] = [];
    for (const c of cases) {
      if (!bodyAllowed(c.route, c.method, c.body)) continue; // the document says so: fine
      const res = await t.http[c.method](c.url)
        .set(c.auth)
        .send(c.body as object);
      if (res.status === 400)
        refused.push(
          `${c.method.toUpperCase()} ${c.route} ${JSON.stringify(c.body)} → 400 ${res.body.message}`,
        );
    }
    // Today: all 17 cases, e.g. PATCH /api/bids/{id} {"title":""} → 400 "title must hold at least 3
    // visible characters …", PATCH …/amendments/{version} {"unknownProperty":1} → 400 "property
    // unknownProperty should not exist".
    expect(refused).toEqual([]);
  });

  it('parameters: every path and query value the document allows is not refused as invalid (400)', async () => {
    const researcher = await t.as('researcher');
    const draft = await t.factory.bid('draft', { researcher });
    const cases: { route: string; name: string; value: unknown; url: string }[] = [
      { route: '/api/bids/{id}', name: 'id', value: 'abc', url: '/api/bids/abc' },
      { route: '/api/releases/{id}', name: 'id', value: 'abc', url: '/api/releases/abc' },
      {
        route: '/api/bids/{id}/amendments/{version}',
        name: 'version',
        value: 1.5,
        url: `/api/bids/${draft.id}/amendments/1.5`,
      },
      { route: '/api/register', name: 'from', value: 'abc', url: '/api/register?from=abc' },
    ];
    const refused: string[] = [];
    for (const c of cases) {
      if (!paramAllowed(c.route, 'get', c.name, c.value)) continue;
      const res = await t.http.get(c.url).set(researcher.auth);
      if (res.status === 400) refused.push(`GET ${c.url} → 400 ${res.body.message}`);
    }
    // Today: all four ("Validation failed (uuid is expected)", "(numeric string is expected)",
    // "from must be a real date YYYY-MM-DD between 1800 and 2999").
    expect(refused).toEqual([]);
  });
});
