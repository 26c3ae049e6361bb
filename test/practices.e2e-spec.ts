import { createTestApp, TestApp } from '@custodian/testing';
import { daysAgo, practiceReady, upload } from './support/practice';
import { nhsNumber, ndjson, patient } from './support/fhir';

describe('practices: rollout, awareness and the refusals of extracts', () => {
  let t: TestApp;
  let admin: { Authorization: string };
  beforeAll(async () => {
    t = await createTestApp();
    admin = (await t.as('admin')).auth;
  });
  afterAll(() => t?.close());

  it('creates a practice (admin only), refuses duplicates and bad ODS codes, and audits', async () => {
    const res = await t.http
      .post('/api/practices')
      .set(admin)
      .send({ odsCode: 'C10001', name: 'Chapel Allerton' })
      .expect(201);
    expect(res.body).toEqual({
      odsCode: 'C10001',
      name: 'Chapel Allerton',
      rollout: 'none',
      awarenessStartedOn: null,
      extractsAcceptedFrom: null,
    });
    const dup = await t.http.post('/api/practices').set(admin).send({ odsCode: 'C10001', name: 'Again' });
    expect(dup.status).toBe(409);
    expect(dup.body.code).toBe('PRACTICE_EXISTS');
    for (const odsCode of ['C1000', 'c10002', '110002', 'CC0002'])
      await t.http.post('/api/practices').set(admin).send({ odsCode, name: 'Bad' }).expect(400);
    await t.http
      .post('/api/practices')
      .set(admin)
      .send({ odsCode: 'C10009', name: 'XX', extra: 1 })
      .expect(400);
    const researcher = (await t.as('researcher')).auth;
    await t.http.post('/api/practices').set(researcher).send({ odsCode: 'C10003', name: 'No' }).expect(403);
    const { rows } = await t.sql.query(
      `SELECT details FROM audit_log WHERE action = 'practice.create' AND subject_id = 'C10001'`,
    );
    expect(rows).toEqual([{ details: { rollout: 'none' } }]);
  });

  it('allows exactly the rollout transitions of SPEC §2; others are 409 ILLEGAL_ROLLOUT_TRANSITION', async () => {
    const cases: [string, string, number][] = [
      ['none', 'pilot', 200],
      ['none', 'pilot_declined', 200],
      ['none', 'national', 200],
      ['pilot', 'national', 200],
      ['pilot_declined', 'national', 200],
      ['pilot', 'pilot_declined', 409],
      ['pilot', 'none', 409],
      ['pilot_declined', 'pilot', 409],
      ['pilot_declined', 'none', 409],
      ['national', 'none', 409],
      ['national', 'pilot', 409],
      ['national', 'pilot_declined', 409],
    ];
    let i = 100;
    for (const [from, to, status] of cases) {
      const ods = `D${String(++i).padStart(5, '0')}`;
      await t.http
        .post('/api/practices')
        .set(admin)
        .send({ odsCode: ods, name: 'PP', rollout: from })
        .expect(201);
      const res = await t.http.patch(`/api/practices/${ods}`).set(admin).send({ rollout: to });
      expect([from, to, res.status]).toEqual([from, to, status]);
      if (status === 409) expect(res.body.code).toBe('ILLEGAL_ROLLOUT_TRANSITION');
      else expect(res.body.rollout).toBe(to);
    }
    const { rows } = await t.sql.query(
      `SELECT details FROM audit_log WHERE action = 'practice.update' AND subject_id = 'D00101'`,
    );
    expect(rows).toEqual([{ details: { changed: ['rollout'], from: 'none', to: 'pilot' } }]);
    await t.http.patch('/api/practices/D00101').set(admin).send({ odsCode: 'D00999' }).expect(400);
    await t.http.patch('/api/practices/Z99999').set(admin).send({ name: 'Nope' }).expect(404);
  });

  it('national rollout moves every none/pilot_declined practice in one step and returns the count', async () => {
    await t.sql.query(`UPDATE practices SET rollout = 'national'`);
    for (const [ods, rollout] of [
      ['E00001', 'none'],
      ['E00002', 'pilot_declined'],
      ['E00003', 'pilot'],
      ['E00004', 'none'],
    ])
      await t.http.post('/api/practices').set(admin).send({ odsCode: ods, name: 'PP', rollout }).expect(201);
    const res = await t.http.post('/api/practices/national-rollout').set(admin).expect(200);
    expect(res.body).toEqual({ moved: 3 });
    const { rows } = await t.sql.query(
      `SELECT ods_code, rollout FROM practices WHERE ods_code LIKE 'E%' ORDER BY 1`,
    );
    expect(rows.map((r) => r.rollout)).toEqual(['national', 'national', 'pilot', 'national']);
    const practice = (await t.as('practice', { practiceOds: 'E00001' })).auth;
    await t.http.post('/api/practices/national-rollout').set(practice).expect(403);
    const audit = await t.sql.query(
      `SELECT details FROM audit_log WHERE action = 'practice.national_rollout'`,
    );
    expect(audit.rows[0].details).toEqual({ moved: 3, practices: ['E00001', 'E00002', 'E00004'] });
  });

  it('lets a practice read and set awareness for its own practice only; another practice is 404', async () => {
    await t.http.post('/api/practices').set(admin).send({ odsCode: 'F00001', name: 'Own' }).expect(201);
    await t.http.post('/api/practices').set(admin).send({ odsCode: 'F00002', name: 'Other' }).expect(201);
    const own = (await t.as('practice', { practiceOds: 'F00001' })).auth;
    const set = await t.http
      .post('/api/practices/F00001/awareness')
      .set(own)
      .send({ startedOn: daysAgo(0) })
      .expect(200);
    expect(set.body.awarenessStartedOn).toBe(daysAgo(0));
    await t.http
      .post('/api/practices/F00002/awareness')
      .set(own)
      .send({ startedOn: daysAgo(3) })
      .expect(404);
    await t.http.get('/api/practices/F00002').set(own).expect(404);
    await t.http.get('/api/practices/F00001').set(own).expect(200);
    const list = await t.http.get('/api/practices').set(own).expect(200);
    expect(list.body.map((p: { odsCode: string }) => p.odsCode)).toEqual(['F00001']);
    const all = await t.http.get('/api/practices').set(admin).expect(200);
    expect(all.body.length).toBeGreaterThanOrEqual(3);
    await t.http.patch('/api/practices/F00001').set(own).send({ name: 'Mine now' }).expect(403);
    await t.http
      .post('/api/practices/F00001/awareness')
      .set(own)
      .send({ startedOn: '2999-01-01' })
      .expect(400);
    await t.http
      .post('/api/practices/F00001/awareness')
      .set(own)
      .send({ startedOn: '2026-02-30' })
      .expect(400);
    const { rows } = await t.sql.query(
      `SELECT actor_id IS NOT NULL AS has_actor, details FROM audit_log WHERE action = 'practice.awareness' AND subject_id = 'F00001'`,
    );
    expect(rows).toEqual([{ has_actor: true, details: { startedOn: daysAgo(0), previous: null } }]);
  });

  it('a practice cannot backdate its awareness start (it counts from the day recorded); an admin corrects it with a reason, audited', async () => {
    await practiceReady(t, admin, 'F00003', { rollout: 'pilot', awarenessDaysAgo: null });
    const own = (await t.as('practice', { practiceOds: 'F00003' })).auth;
    const back = await t.http
      .post('/api/practices/F00003/awareness')
      .set(own)
      .send({ startedOn: '2020-01-01' })
      .expect(400);
    expect(back.body.code).toBe('AWARENESS_BACKDATED');
    await t.http
      .post('/api/practices/F00003/awareness')
      .set(own)
      .send({ startedOn: daysAgo(1), reason: 'we told them yesterday' })
      .expect(400);
    // Nothing stored: extracts stay closed.
    const p = await t.http.get('/api/practices/F00003').set(own).expect(200);
    expect(p.body.awarenessStartedOn).toBeNull();
    await t.http
      .post('/api/practices/F00003/awareness')
      .set(own)
      .send({ startedOn: daysAgo(0) })
      .expect(200);
    const moved = await t.http
      .post('/api/practices/F00003/awareness')
      .set(own)
      .send({ startedOn: daysAgo(2) })
      .expect(409);
    expect(moved.body.code).toBe('AWARENESS_ALREADY_RECORDED');
    const refused = await upload(t, own, 'F00003', '');
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe('AWARENESS_PERIOD_NOT_OVER');
    // The admin: a past date needs a reason; with one it is stored and audited as a correction.
    const noReason = await t.http
      .post('/api/practices/F00003/awareness')
      .set(admin)
      .send({ startedOn: daysAgo(40) })
      .expect(400);
    expect(noReason.body.code).toBe('AWARENESS_REASON_REQUIRED');
    await t.http
      .post('/api/practices/F00003/awareness')
      .set(admin)
      .send({ startedOn: daysAgo(40), reason: 'letters went out on this day (ticket 123)' })
      .expect(200);
    const { rows } = await t.sql.query(
      `SELECT outcome, details FROM audit_log WHERE action = 'practice.awareness_corrected' AND subject_id = 'F00003'`,
    );
    expect(rows).toEqual([
      {
        outcome: 'success',
        details: {
          startedOn: daysAgo(40),
          previous: daysAgo(0),
          reason: 'letters went out on this day (ticket 123)',
        },
      },
    ]);
  });

  it('an admin correction takes no date before 2000-01-01 and none in the future (400)', async () => {
    await practiceReady(t, admin, 'F00004', { rollout: 'pilot', awarenessDaysAgo: null });
    const reason = 'letters went out on this day (ticket 456)';
    for (const startedOn of ['1800-01-01', '1895-01-01', '1999-12-31']) {
      const res = await t.http
        .post('/api/practices/F00004/awareness')
        .set(admin)
        .send({ startedOn, reason })
        .expect(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
      expect(res.body.message).toBe('startedOn must be on or after 2000-01-01');
    }
    const future = await t.http
      .post('/api/practices/F00004/awareness')
      .set(admin)
      .send({ startedOn: daysAgo(-1), reason })
      .expect(400);
    expect(future.body.code).toBe('AWARENESS_DATE_IN_FUTURE');
    const p = await t.http.get('/api/practices/F00004').set(admin).expect(200);
    expect(p.body.awarenessStartedOn).toBeNull();
    await t.http
      .post('/api/practices/F00004/awareness')
      .set(admin)
      .send({ startedOn: '2000-01-01', reason })
      .expect(200);
  });

  it('documents the routes in the OpenAPI document', async () => {
    const doc = await t.http.get('/api/docs-json').expect(200);
    for (const p of [
      '/api/practices',
      '/api/practices/{ods}',
      '/api/practices/national-rollout',
      '/api/practices/{ods}/awareness',
      '/api/practices/{ods}/extracts',
      '/api/extracts/{id}',
      '/api/objections',
    ])
      expect(Object.keys(doc.body.paths)).toContain(p);
  });

  describe('extract refusals (409 with a code, nothing stored)', () => {
    const body = ndjson([patient('r1', nhsNumber(500_000_001))]);
    const nothingStored = async () => {
      const { rows } = await t.sql.query(
        `SELECT (SELECT count(*) FROM patients)::int + (SELECT count(*) FROM extracts)::int + (SELECT count(*) FROM objection_events)::int AS n`,
      );
      expect(rows[0].n).toBe(0);
    };

    it.each([
      ['none', 60, 'PRACTICE_NOT_ROLLED_OUT'],
      ['pilot_declined', 60, 'PRACTICE_NOT_ROLLED_OUT'],
      ['pilot', null, 'AWARENESS_PERIOD_NOT_OVER'],
      ['national', null, 'AWARENESS_PERIOD_NOT_OVER'],
      ['pilot', 27, 'AWARENESS_PERIOD_NOT_OVER'],
      ['national', 0, 'AWARENESS_PERIOD_NOT_OVER'],
    ] as const)('rollout %s, awareness started %s days ago → %s', async (rollout, days, code) => {
      const ods = `G${String(Math.floor(Math.random() * 90_000) + 10_000)}`;
      const auth = await practiceReady(t, admin, ods, { rollout, awarenessDaysAgo: days });
      const res = await upload(t, auth, ods, body);
      expect(res.status).toBe(409);
      expect(res.body.code).toBe(code);
      await nothingStored();
    });

    it('accepts on the day the 28-day period ends', async () => {
      const auth = await practiceReady(t, admin, 'G00028', { rollout: 'pilot', awarenessDaysAgo: 28 });
      const res = await upload(
        t,
        auth,
        'G00028',
        ndjson([patient('r1', nhsNumber(500_000_028), {}, 'G00028')]),
      );
      expect(res.status).toBe(201);
      expect(res.body.patients).toBe(1);
    });

    it('refuses an upload for another practice with 404, and other roles with 403', async () => {
      await practiceReady(t, admin, 'G00100');
      const other = await practiceReady(t, admin, 'G00101');
      const before = await t.sql.query('SELECT count(*)::int AS n FROM patients');
      const res = await upload(
        t,
        other,
        'G00100',
        ndjson([patient('x', nhsNumber(500_000_100), {}, 'G00100')]),
      );
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('PRACTICE_NOT_FOUND');
      // A file that is no extract at all is refused the same way: the body is judged after the
      // practice's authority, so its answer tells nothing of the other practice.
      const junk = await upload(t, other, 'G00100', Buffer.from('\x89PNG\r\n\x1a\n'));
      expect(junk.status).toBe(404);
      expect(junk.body.code).toBe('PRACTICE_NOT_FOUND');
      await upload(t, admin, 'G00100', body).expect(403);
      const after = await t.sql.query('SELECT count(*)::int AS n FROM patients');
      expect(after.rows[0].n).toBe(before.rows[0].n);
    });

    it('honours AWARENESS_DAYS', async () => {
      const t2 = await createTestApp({ AWARENESS_DAYS: '5' });
      try {
        const a = (await t2.as('admin')).auth;
        const auth = await practiceReady(t2, a, 'H00001', { awarenessDaysAgo: 5 });
        const res = await upload(
          t2,
          auth,
          'H00001',
          ndjson([patient('r1', nhsNumber(500_000_200), {}, 'H00001')]),
        );
        expect(res.status).toBe(201);
      } finally {
        await t2.close();
      }
    });
  });
});
