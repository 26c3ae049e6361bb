import { createTestApp, TestApp } from '@custodian/testing';

/**
 * Probe 32: SPEC §7 refuses unknown properties with 400, but one named like a built-in of every
 * JavaScript object (`constructor`, `toString`, `valueOf`, `hasOwnProperty`, `isPrototypeOf`,
 * `__defineGetter__`, … and `prototype`) passed: class-transformer does not copy a key onto the DTO
 * instance where the instance already has a method of that name, so the whitelist never saw it.
 * `POST /api/organisations {"name":…,"kind":…,"toString":1}` created the organisation (201), in a
 * nested object too (`cohort.valueOf`), and `GET /api/bids?constructor=1` answered 200 where
 * `?foo=1` is 400.
 */
const NAMES = [
  'constructor',
  'toString',
  'toLocaleString',
  'valueOf',
  'hasOwnProperty',
  'isPrototypeOf',
  'propertyIsEnumerable',
  '__defineGetter__',
  '__defineSetter__',
  '__lookupGetter__',
  '__lookupSetter__',
  'prototype',
];

describe('probe 32: unknown properties named like built-ins', () => {
  let t: TestApp;
  let admin: Awaited<ReturnType<TestApp['as']>>;
  beforeAll(async () => {
    t = await createTestApp();
    admin = await t.as('admin');
  });
  afterAll(() => t?.close());

  it('are refused in a JSON body (400 VALIDATION_FAILED), and nothing is created', async () => {
    const accepted: string[] = [];
    for (const [i, key] of NAMES.entries()) {
      const name = `Probe32 Builtin ${i}`;
      const res = await t.http
        .post('/api/organisations')
        .set(admin.auth)
        .set('content-type', 'application/json')
        .send(`{"name":"${name}","kind":"charity",${JSON.stringify(key)}:1}`);
      if (res.status !== 400 || res.body.code !== 'VALIDATION_FAILED') accepted.push(`${key}: ${res.status}`);
    }
    expect(accepted).toEqual([]);
    const { rows } = await t.sql.query(`SELECT name FROM organisations WHERE name LIKE 'Probe32 Builtin%'`);
    expect(rows).toEqual([]);
  });

  it('are refused in a nested object of a body', async () => {
    const researcher = await t.as('researcher');
    const res = await t.http
      .post('/api/bids')
      .set(researcher.auth)
      .set('content-type', 'application/json')
      .send(
        JSON.stringify({
          title: 'Builtin names',
          purpose: 'A purpose long enough',
          publicBenefit: 'A benefit long enough',
          legalBasis: 'none',
          requestedTier: 'aggregate',
          datasets: [{ dataset: 'gp', fields: ['sex'] }],
          aggregation: { dimensions: ['sex'] },
          durationMonths: 12,
        }).replace('"aggregation":{', '"cohort":{"valueOf":1},"aggregation":{'),
      );
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'VALIDATION_FAILED' });
  });

  it('are refused in the sign-in body, which its guard validates (401 before)', async () => {
    const accepted: string[] = [];
    for (const key of NAMES) {
      const res = await t.http
        .post('/api/auth/login')
        .set('content-type', 'application/json')
        .send(`{"email":"nobody-${key.length}@example.org","password":"x",${JSON.stringify(key)}:1}`);
      if (res.status !== 400 || res.body.code !== 'VALIDATION_FAILED') accepted.push(`${key}: ${res.status}`);
    }
    expect(accepted).toEqual([]);
  });

  it('are refused in the query of a route that takes a query object', async () => {
    const researcher = await t.as('researcher');
    const accepted: string[] = [];
    for (const key of NAMES) {
      const res = await t.http.get(`/api/bids?${key}=1`).set(researcher.auth);
      if (res.status !== 400) accepted.push(`${key}: ${res.status}`);
    }
    for (const key of ['toString', 'constructor']) {
      const res = await t.http.get(`/api/register?${key}=1`);
      if (res.status !== 400) accepted.push(`register ${key}: ${res.status}`);
    }
    expect(accepted).toEqual([]);
  });
});
