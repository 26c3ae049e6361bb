import { randomUUID } from 'node:crypto';
import { createTestApp, TestApp } from '@custodian/testing';
import { defineAbilityFor } from '@custodian/authz';
import { AgreementsService, BidsController, NO_LINKAGE_CONDITION } from '@custodian/bids';
import { PanelController } from '@custodian/governance';
import { IS_PUBLIC, PERMISSION, type Role } from '@custodian/core';
import { AGGREGATE_DIMENSIONS, CATALOGUE_FIELDS, CatalogController } from '@custodian/catalog';
import { RegisterController } from '@custodian/register';
import { COHORT_KEYS, expectRefusedNaming } from './support/validation';

type Session = Awaited<ReturnType<TestApp['as']>>;

/** A valid body of SPEC §4 (s251, pseudonymised). */
const bidBody = (over: Record<string, unknown> = {}) => ({
  title: 'Statins and stroke in Leeds',
  purpose: 'Study whether statin prescribing is associated with fewer strokes.',
  publicBenefit: 'Evidence for prescribing guidance on statins.',
  legalBasis: 's251',
  legalBasisReference: 'CAG 7-07(a)/2013',
  requestedTier: 'pseudonymised',
  datasets: [
    { dataset: 'gp', fields: ['nhs_number', 'date_of_birth', 'postcode', 'sex', 'code', 'event_date'] },
    { dataset: 'hes', fields: ['nhs_number', 'admission_date', 'diagnosis_icd10'] },
  ],
  cohort: {
    practices: ['A81001'],
    postcodeAreas: ['LS'],
    conditionCodes: ['22298006'],
    eventsFrom: '2010-01-01',
    eventsTo: '2014-12-31',
    ageMin: 18,
    ageMax: 90,
  },
  durationMonths: 12,
  ...over,
});

describe('bids and governance', () => {
  let t: TestApp;
  let orgA: string;
  let orgB: string;
  let centre: string;
  let researcherA: Session;
  let researcherA2: Session;
  let researcherB: Session;
  let officer: Session;
  let panel: Session[];
  let admin: Session;
  let auditor: Session;

  beforeAll(async () => {
    t = await createTestApp();
    [orgA, orgB, centre] = (
      await Promise.all([
        t.factory.organisation({ kind: 'academic' }),
        t.factory.organisation({ kind: 'commercial' }),
        t.factory.organisation({ kind: 'public_body' }),
      ])
    ).map((o) => o.id);
    [researcherA, researcherA2, researcherB, officer, admin, auditor, ...panel] = await Promise.all([
      t.as('researcher', { organisationId: orgA }),
      t.as('researcher', { organisationId: orgA }),
      t.as('researcher', { organisationId: orgB }),
      t.as('release_officer', { organisationId: centre }),
      t.as('admin', { organisationId: centre }),
      t.as('auditor', { organisationId: centre }),
      ...[1, 2, 3, 4, 5].map(() => t.as('panel_member', { organisationId: centre })),
    ]);
  });
  afterAll(() => t?.close());

  const create = async (who: Session = researcherA, over: Record<string, unknown> = {}) => {
    const res = await t.http.post('/api/bids').set(who.auth).send(bidBody(over));
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.id as string;
  };
  const submit = (id: string, who: Session = researcherA) =>
    t.http.post(`/api/bids/${id}/submit`).set(who.auth).send();
  const screen = (
    id: string,
    body: Record<string, unknown> = { outcome: 'accept', remarks: 'ok' },
    who = officer,
  ) => t.http.post(`/api/bids/${id}/screen`).set(who.auth).send(body);
  const vote = (id: string, who: Session, body: Record<string, unknown> = {}) =>
    t.http
      .post(`/api/bids/${id}/votes`)
      .set(who.auth)
      .send({ decision: 'approve', conflictOfInterest: false, ...body });
  const inReview = async (over: Record<string, unknown> = {}) => {
    const id = await create(researcherA, over);
    await submit(id).expect(200);
    await screen(id).expect(200);
    return id;
  };
  const approved = async (over: Record<string, unknown> = {}) => {
    const id = await inReview(over);
    for (const p of panel.slice(0, 3)) await vote(id, p).expect(201);
    return id;
  };
  const state = async (id: string) =>
    (await t.sql.query('SELECT state FROM bids WHERE id = $1', [id])).rows[0].state as string;
  const decisionEvents = async (id: string) =>
    (
      await t.sql.query(
        `SELECT count(*)::int AS n FROM bid_events WHERE bid_id = $1 AND action LIKE 'decide_%'`,
        [id],
      )
    ).rows[0].n as number;
  const destroyJobs = async (bidId: string) =>
    (
      await t.sql.query(
        `SELECT data FROM pgboss.job WHERE name = 'release.destroy' AND data->>'bidId' = $1`,
        [bidId],
      )
    ).rows.map((r) => r.data);

  describe('catalogue', () => {
    it('lists the three datasets with every field classified, the dimensions and the columns per tier', async () => {
      const res = await t.http.get('/api/datasets').set(researcherB.auth).expect(200);
      expect(res.body.datasets.map((d: { id: string }) => d.id)).toEqual(['gp', 'hes', 'social_care']);
      const fields = Object.fromEntries(
        res.body.datasets.map((d: { id: string; fields: { name: string }[] }) => [
          d.id,
          d.fields.map((f) => f.name),
        ]),
      );
      // The catalogue of SPEC §4, as the engine releases it (one definition: @custodian/catalog).
      expect(fields).toEqual(
        Object.fromEntries(Object.entries(CATALOGUE_FIELDS).map(([d, f]) => [d, [...f]])),
      );
      const gp = res.body.datasets[0];
      expect(gp.fields[0]).toMatchObject({ name: 'nhs_number', classification: 'direct_identifier' });
      expect(gp.fields.every((f: { description: string }) => f.description.length > 5)).toBe(true);
      expect(gp.columnsByTier.pseudonymised.slice(0, 3)).toEqual([
        'pseudo_id',
        'birth_year_month',
        'postcode_district',
      ]);
      expect(gp.columnsByTier.anonymised.slice(0, 3)).toEqual(['person_token', 'age_band', 'area']);
      expect(gp.columnsByTier.aggregate).toEqual([]);
      expect(res.body.dimensions.map((d: { name: string }) => d.name)).toEqual([...AGGREGATE_DIMENSIONS]);
      await t.http.get('/api/datasets').expect(401);
    });
  });

  describe('creating and editing', () => {
    it('creates a draft with the exact body of SPEC §4; recipients default to the creator', async () => {
      const res = await t.http.post('/api/bids').set(researcherA.auth).send(bidBody()).expect(201);
      expect(res.body).toMatchObject({
        state: 'draft',
        organisationId: orgA,
        createdBy: researcherA.user.id,
        recipients: [researcherA.user.id],
        requestedTier: 'pseudonymised',
        grantedTier: null,
        aggregation: null,
        cohort: bidBody().cohort,
        datasets: bidBody().datasets,
        agreement: null,
      });
    });

    it.each([
      ['an unknown property', { colour: 'blue' }, 'VALIDATION_FAILED'],
      ['an unknown cohort key', { cohort: { wards: ['x'] } }, 'VALIDATION_FAILED'],
      [
        'an unknown dataset key',
        { datasets: [{ dataset: 'gp', fields: ['sex'], extra: 1 }] },
        'VALIDATION_FAILED',
      ],
      [
        'identifiable without a legal basis',
        { requestedTier: 'identifiable', legalBasis: 'none' },
        'TIER_LEGAL_BASIS_MISMATCH',
      ],
      ['pseudonymised without a legal basis', { legalBasis: 'none' }, 'TIER_LEGAL_BASIS_MISMATCH'],
      ['s251 without its reference', { legalBasisReference: undefined }, 'LEGAL_BASIS_REFERENCE_REQUIRED'],
      [
        'public_health_emergency without its notice',
        { legalBasis: 'public_health_emergency', legalBasisReference: undefined },
        'LEGAL_BASIS_REFERENCE_REQUIRED',
      ],
      [
        'a field outside the catalogue',
        { datasets: [{ dataset: 'gp', fields: ['sex', 'name'] }] },
        'UNKNOWN_FIELD',
      ],
      ['a hes field asked of gp', { datasets: [{ dataset: 'gp', fields: ['epikey'] }] }, 'UNKNOWN_FIELD'],
      [
        'a dataset outside the catalogue',
        { datasets: [{ dataset: 'ons', fields: ['sex'] }] },
        'UNKNOWN_DATASET',
      ],
      [
        'an unknown dimension beside a record-level tier',
        { aggregation: { dimensions: ['income'] } },
        'UNKNOWN_DIMENSION',
      ],
      ['the aggregate tier without aggregation', { requestedTier: 'aggregate' }, 'AGGREGATION_REQUIRED'],
      [
        'an unknown dimension',
        { requestedTier: 'aggregate', aggregation: { dimensions: ['sex', 'income'] } },
        'UNKNOWN_DIMENSION',
      ],
      ['a bad ODS code', { cohort: { practices: ['81001'] } }, 'VALIDATION_FAILED'],
      // Found by the fuzzer: an array where an object belongs was accepted (201) and echoed as {"0": …}.
      ['a cohort that is an array', { cohort: [[]] }, 'VALIDATION_FAILED'],
      [
        'an aggregation that is an array',
        { requestedTier: 'aggregate', aggregation: [{ dimensions: ['sex'] }] },
        'VALIDATION_FAILED',
      ],
      ['a bad date', { cohort: { eventsFrom: '2010-13-01' } }, 'VALIDATION_FAILED'],
      [
        'dates the wrong way round',
        { cohort: { eventsFrom: '2015-01-01', eventsTo: '2014-01-01' } },
        'INVALID_COHORT',
      ],
      ['ages the wrong way round', { cohort: { ageMin: 60, ageMax: 20 } }, 'INVALID_COHORT'],
      ['more than 36 months', { durationMonths: 37 }, 'VALIDATION_FAILED'],
      // An outsider's probe (2026-12-06): a title of spaces was stored as "" and the bid submitted;
      // text-direction overrides made a register line read otherwise than it is.
      ['a title of spaces', { title: '   ' }, 'VALIDATION_FAILED'],
      ['a title of zero-width spaces', { title: '\u200B\u200B\u200B\u200B' }, 'VALIDATION_FAILED'],
      ['a title with a text-direction override', { title: 'Statins \u202Egnp.exe' }, 'VALIDATION_FAILED'],
      ['a title over two lines', { title: 'Statins\nand stroke' }, 'VALIDATION_FAILED'],
      ['a purpose of spaces', { purpose: ' '.repeat(12) }, 'VALIDATION_FAILED'],
      ['a public benefit of tabs and newlines', { publicBenefit: '\t\n'.repeat(8) }, 'VALIDATION_FAILED'],
      ['a purpose with a control character', { purpose: 'Ten visible letters\u0007' }, 'VALIDATION_FAILED'],
      [
        'a dimension twice',
        { requestedTier: 'aggregate', legalBasis: 'none', aggregation: { dimensions: ['sex', 'sex'] } },
        'VALIDATION_FAILED',
        /^aggregation\.dimensions must not list a value twice$/,
      ],
      [
        'a recipient who is not a researcher of the organisation',
        { recipients: ['00000000-0000-4000-8000-000000000000'] },
        'INVALID_RECIPIENTS',
      ],
    ] as [string, Record<string, unknown>, string, RegExp?][])(
      'refuses %s with 400',
      async (_what, over, code, message) => {
        const res = await t.http.post('/api/bids').set(researcherA.auth).send(bidBody(over)).expect(400);
        expect(res.body).toMatchObject({ statusCode: 400, code });
        if (message) expect(res.body.message).toMatch(message);
      },
    );

    it('accepts exactly the tier and legal basis pairs of SPEC §4 (all 20 combinations)', async () => {
      const tiers = ['identifiable', 'pseudonymised', 'anonymised', 'aggregate'];
      const bases = ['consent', 's251', 'public_health_emergency', 'statutory', 'none'];
      for (const requestedTier of tiers)
        for (const legalBasis of bases) {
          const res = await t.http
            .post('/api/bids')
            .set(researcherA.auth)
            .send(
              bidBody({
                requestedTier,
                legalBasis,
                legalBasisReference: 'REF-123',
                aggregation: requestedTier === 'aggregate' ? { dimensions: ['sex'] } : undefined,
              }),
            );
          const allowed = legalBasis !== 'none' || ['anonymised', 'aggregate'].includes(requestedTier);
          expect(res.status, `${requestedTier} under ${legalBasis}`).toBe(allowed ? 201 : 400);
          if (!allowed) expect(res.body.code).toBe('TIER_LEGAL_BASIS_MISMATCH');
        }
    });

    it('allows none for anonymised and aggregate tiers', async () => {
      await create(researcherA, {
        legalBasis: 'none',
        legalBasisReference: undefined,
        requestedTier: 'anonymised',
      });
      await create(researcherA, {
        legalBasis: 'none',
        legalBasisReference: undefined,
        requestedTier: 'aggregate',
        aggregation: { dimensions: ['sex', 'age_band'] },
      });
    });

    it('limits commercial organisations to 12 months and others to 36', async () => {
      const res = await t.http
        .post('/api/bids')
        .set(researcherB.auth)
        .send(bidBody({ durationMonths: 13 }))
        .expect(400);
      expect(res.body).toMatchObject({ code: 'DURATION_TOO_LONG', message: expect.stringContaining('12') });
      await create(researcherB, { durationMonths: 12 });
      await create(researcherA, { durationMonths: 36 });
    });

    it('accepts recipients who are researchers of the same organisation only', async () => {
      const id = await create(researcherA, { recipients: [researcherA.user.id, researcherA2.user.id] });
      expect(
        (await t.http.get(`/api/bids/${id}`).set(researcherA2.auth).expect(200)).body.recipients,
      ).toHaveLength(2);
      const res = await t.http
        .post('/api/bids')
        .set(researcherA.auth)
        .send(bidBody({ recipients: [researcherB.user.id] }))
        .expect(400);
      expect(res.body.code).toBe('INVALID_RECIPIENTS');
    });

    it('edits in draft and returned only', async () => {
      const id = await create();
      const patched = await t.http
        .patch(`/api/bids/${id}`)
        .set(researcherA.auth)
        .send({ title: 'Statins and stroke, revised', durationMonths: 24 })
        .expect(200);
      expect(patched.body).toMatchObject({ title: 'Statins and stroke, revised', durationMonths: 24 });
      await t.http.patch(`/api/bids/${id}`).set(researcherA.auth).send({ legalBasis: 'none' }).expect(400);
      await t.http.patch(`/api/bids/${id}`).set(researcherA.auth).send({ nope: 1 }).expect(400);
      await t.http.patch(`/api/bids/${id}`).set(researcherA.auth).send({ title: '\t\t\t\t' }).expect(400);
      await submit(id).expect(200);
      const res = await t.http
        .patch(`/api/bids/${id}`)
        .set(researcherA.auth)
        .send({ title: 'Again' })
        .expect(409);
      expect(res.body.code).toBe('BID_NOT_EDITABLE');
      await screen(id, { outcome: 'return', remarks: 'Please narrow the cohort' }).expect(200);
      await t.http
        .patch(`/api/bids/${id}`)
        .set(researcherA.auth)
        .send({ cohort: { postcodeAreas: ['LS'] } })
        .expect(200);
      expect((await submit(id).expect(200)).body.state).toBe('submitted');
    });

    it('null is no value: a null in any optional property is a 400 naming it, at create and edit, nothing stored', async () => {
      // An outsider's probe: a cohort of nulls was stored (201), every later BidDto broke its schema
      // and the active bid's release was refused as RELEASE_COHORT_INVALID. Absent = no restriction.
      const count = async () =>
        (await t.sql.query('SELECT count(*)::int AS n FROM bids')).rows[0].n as number;
      const before = await count();
      const refused = expectRefusedNaming;
      const allNull = await t.http
        .post('/api/bids')
        .set(researcherA.auth)
        .send(bidBody({ cohort: Object.fromEntries(COHORT_KEYS.map((k) => [k, null])) }));
      for (const k of COHORT_KEYS) refused(allNull, `cohort.${k}`);
      for (const k of COHORT_KEYS)
        refused(
          await t.http
            .post('/api/bids')
            .set(researcherA.auth)
            .send(bidBody({ cohort: { [k]: null } })),
          `cohort.${k}`,
        );
      for (const k of ['legalBasisReference', 'cohort', 'aggregation', 'recipients'])
        refused(
          await t.http
            .post('/api/bids')
            .set(researcherA.auth)
            .send(bidBody({ [k]: null })),
          k,
        );
      expect(await count()).toBe(before);

      const id = await create();
      const row = async () =>
        (await t.sql.query('SELECT row_to_json(b)::text AS r FROM bids b WHERE id = $1', [id])).rows[0].r;
      const stored = await row();
      const patch = (body: Record<string, unknown>) =>
        t.http.patch(`/api/bids/${id}`).set(researcherA.auth).send(body);
      for (const k of COHORT_KEYS) refused(await patch({ cohort: { [k]: null } }), `cohort.${k}`);
      for (const k of [
        'title',
        'purpose',
        'publicBenefit',
        'legalBasis',
        'requestedTier',
        'datasets',
        'cohort',
        'durationMonths',
        'recipients',
      ])
        refused(await patch({ [k]: null }), k);
      expect(await row()).toBe(stored);
      // What a BidDto may hold as null, an edit may clear with null (the portal's form does): the
      // legal basis reference (still required by s251) and the aggregation (the aggregate tier's).
      expect((await patch({ legalBasisReference: null })).body.code).toBe('LEGAL_BASIS_REFERENCE_REQUIRED');
      const cleared = await patch({ legalBasis: 'statutory', legalBasisReference: null }).expect(200);
      expect(cleared.body.legalBasisReference).toBeNull();
    });

    it('takes SPEC §4 exactly, dimensions beside a pseudonymised tier: the counts the panel may grant instead', async () => {
      // SPEC §4's body states `aggregation` with `requestedTier: pseudonymised`; it was refused
      // (AGGREGATION_NOT_ALLOWED) before. The dimensions are kept, and used only if the panel
      // grants the aggregate tier.
      const spec = bidBody({
        aggregation: { dimensions: ['sex', 'age_band'] },
        recipients: [researcherA.user.id],
      });
      const res = await t.http.post('/api/bids').set(researcherA.auth).send(spec).expect(201);
      expect(res.body).toMatchObject({
        requestedTier: 'pseudonymised',
        aggregation: { dimensions: ['sex', 'age_band'] },
        recipients: [researcherA.user.id],
      });
      const kept = await t.http
        .patch(`/api/bids/${res.body.id}`)
        .set(researcherA.auth)
        .send({ requestedTier: 'anonymised' })
        .expect(200);
      expect(kept.body.aggregation).toEqual({ dimensions: ['sex', 'age_band'] });
      const cleared = await t.http
        .patch(`/api/bids/${res.body.id}`)
        .set(researcherA.auth)
        .send({ aggregation: null })
        .expect(200);
      expect(cleared.body.aggregation).toBeNull();
    });

    it('switching to a record-level tier keeps the dimensions (the counts a panel may grant instead)', async () => {
      const id = await create(researcherA, {
        legalBasis: 'none',
        legalBasisReference: undefined,
        requestedTier: 'aggregate',
        aggregation: { dimensions: ['sex'] },
      });
      const res = await t.http
        .patch(`/api/bids/${id}`)
        .set(researcherA.auth)
        .send({ requestedTier: 'anonymised' })
        .expect(200);
      expect(res.body.aggregation).toEqual({ dimensions: ['sex'] });
    });
  });

  describe('visibility', () => {
    it("another organisation's researcher gets 404 on every route", async () => {
      const id = await create();
      const b = researcherB.auth;
      await t.http.get(`/api/bids/${id}`).set(b).expect(404);
      await t.http.get(`/api/bids/${id}/events`).set(b).expect(404);
      await t.http.patch(`/api/bids/${id}`).set(b).send({ title: 'Mine now' }).expect(404);
      await t.http.post(`/api/bids/${id}/submit`).set(b).expect(404);
      await t.http.post(`/api/bids/${id}/withdraw`).set(b).send({}).expect(404);
      await t.http
        .put(`/api/bids/${id}/cohort`)
        .set(b)
        .set('content-type', 'text/plain')
        .send('9434765919\n')
        .expect(404);
      const ok = await approved();
      await t.http.get(`/api/bids/${ok}`).set(b).expect(404);
      await t.http.post(`/api/bids/${ok}/agreement/accept`).set(b).expect(404);
      expect(await state(ok)).toBe('approved');
      const list = await t.http.get('/api/bids').set(b).expect(200);
      expect(list.body.items.map((x: { id: string }) => x.id)).not.toContain(id);
      expect(list.body.items.every((x: { organisationId: string }) => x.organisationId === orgB)).toBe(true);
    });

    it('reviewers see every bid but drafts (the panel: those in review, below); researchers see all of their organisation', async () => {
      const draft = await create();
      const submitted = await create();
      await submit(submitted).expect(200);
      await t.http.get(`/api/bids/${draft}`).set(panel[0].auth).expect(404);
      for (const who of [officer, admin, auditor]) {
        await t.http.get(`/api/bids/${draft}`).set(who.auth).expect(404);
        await t.http.get(`/api/bids/${submitted}`).set(who.auth).expect(200);
        const ids = (await t.http.get('/api/bids?limit=200').set(who.auth).expect(200)).body.items.map(
          (x: { id: string }) => x.id,
        );
        expect(ids).toContain(submitted);
        expect(ids).not.toContain(draft);
      }
      const mine = (await t.http.get('/api/bids?state=draft&limit=200').set(researcherA2.auth).expect(200))
        .body;
      expect(mine.items.map((x: { id: string }) => x.id)).toContain(draft);
      expect(mine.items.every((x: { state: string }) => x.state === 'draft')).toBe(true);
      const { rows } = await t.sql.query(`SELECT count(*)::int AS n FROM bids WHERE organisation_id = $1`, [
        orgA,
      ]);
      expect(mine.total).toBeLessThanOrEqual(rows[0].n);
      await t.http.get('/api/bids?state=bogus').set(researcherA.auth).expect(400);
      await t.http.get(`/api/bids/not-a-uuid`).set(researcherA.auth).expect(400);
      await t.http
        .get(`/api/bids`)
        .set((await t.as('data_manager')).auth)
        .expect(403);
    });

    it('a bid withdrawn without ever being submitted stays its organisation’s alone: 404 to reviewers, as for no bid', async () => {
      // An outsider's probe: withdrawing a draft made it readable by every reviewer (listed, read,
      // its history, its clock), because reviewers saw every bid "but drafts".
      const draft = await create();
      await t.http.post(`/api/bids/${draft}/withdraw`).set(researcherA.auth).send({}).expect(200);
      const wasSubmitted = await create();
      await submit(wasSubmitted).expect(200);
      await t.http.post(`/api/bids/${wasSubmitted}/withdraw`).set(researcherA.auth).send({}).expect(200);
      const nobody = '00000000-0000-4000-8000-000000000000';
      const none = (await t.http.get(`/api/bids/${nobody}`).set(panel[0].auth).expect(404)).body;
      for (const who of [panel[0], officer, admin, auditor]) {
        for (const path of ['', '/events', '/clock', '/amendments']) {
          const res = await t.http.get(`/api/bids/${draft}${path}`).set(who.auth);
          expect({ path, status: res.status, body: res.body }).toEqual({
            path,
            status: 404,
            body: { ...none, message: expect.any(String) },
          });
          // Submitted and withdrawn before screening: the screening side's; the panel never had it.
          await t.http
            .get(`/api/bids/${wasSubmitted}${path}`)
            .set(who.auth)
            .expect(who === panel[0] ? 404 : 200);
        }
        expect((await t.http.get(`/api/bids/${draft}`).set(who.auth)).body).toEqual(none);
        for (const state of ['', '&state=withdrawn']) {
          const ids = (
            await t.http.get(`/api/bids?limit=200${state}`).set(who.auth).expect(200)
          ).body.items.map((x: { id: string }) => x.id);
          if (who === panel[0]) expect(ids).not.toContain(wasSubmitted);
          else expect(ids).toContain(wasSubmitted);
          expect(ids).not.toContain(draft);
        }
      }
      // Acting on it is the same 404 as reading it (not a 409 that tells it exists).
      expect((await screen(draft)).status).toBe(404);
      expect((await vote(draft, panel[0])).status).toBe(404);
      expect(
        (await t.http.post(`/api/bids/${draft}/revoke`).set(admin.auth).send({ reason: 'probe' })).status,
      ).toBe(404);
      expect((await t.http.post(`/api/bids/${draft}/releases`).set(officer.auth)).status).toBe(404);
      // The applicant's organisation still sees it.
      await t.http.get(`/api/bids/${draft}`).set(researcherA2.auth).expect(200);
      await t.http.get(`/api/bids/${draft}/events`).set(researcherA2.auth).expect(200);
    });

    it("the panel reads requests that are or were in review, not one waiting for screening or returned at it (SPEC §1; an outsider's probe)", async () => {
      const waiting = await create();
      await submit(waiting).expect(200);
      const returned = await create();
      await submit(returned).expect(200);
      await screen(returned, { outcome: 'return', remarks: 'Say more about the public benefit' }).expect(200);
      const reviewed = await inReview();
      // Withdrawn while in review: the panel had it.
      const reviewedThenWithdrawn = await inReview();
      await t.http
        .post(`/api/bids/${reviewedThenWithdrawn}/withdraw`)
        .set(researcherA.auth)
        .send({})
        .expect(200);
      const listed = async (who: Session) =>
        (await t.http.get('/api/bids?limit=200').set(who.auth).expect(200)).body.items.map(
          (x: { id: string }) => x.id,
        );
      for (const id of [waiting, returned]) {
        for (const path of ['', '/events', '/clock'])
          await t.http.get(`/api/bids/${id}${path}`).set(panel[1].auth).expect(404);
        expect(await listed(panel[1])).not.toContain(id);
        // The screening side reads them.
        await t.http.get(`/api/bids/${id}`).set(officer.auth).expect(200);
        expect(await listed(officer)).toContain(id);
      }
      for (const id of [reviewed, reviewedThenWithdrawn]) {
        await t.http.get(`/api/bids/${id}`).set(panel[1].auth).expect(200);
        expect(await listed(panel[1])).toContain(id);
      }
    });

    it('pages with page and limit (default 50)', async () => {
      const first = (await t.http.get('/api/bids').set(researcherA.auth).expect(200)).body;
      expect(first).toMatchObject({ page: 1, limit: 50 });
      const p1 = (await t.http.get('/api/bids?limit=2&page=1').set(researcherA.auth).expect(200)).body;
      const p2 = (await t.http.get('/api/bids?limit=2&page=2').set(researcherA.auth).expect(200)).body;
      expect(p1.items).toHaveLength(2);
      expect(p2.items).toHaveLength(2);
      expect(p1.total).toBe(first.total);
      expect(new Set([...p1.items, ...p2.items].map((x: { id: string }) => x.id)).size).toBe(4);
      // Decimal digits only (an outsider's probe: page=0x10 was read as page 16).
      for (const q of ['page=0x10', 'page=1e1', 'limit=0x2', 'limit=2.0', 'page=%201'])
        expect((await t.http.get(`/api/bids?${q}`).set(researcherA.auth)).body, q).toMatchObject({
          statusCode: 400,
          code: 'VALIDATION_FAILED',
        });
    });
  });

  describe('state machine', () => {
    it('screening: a return carries remarks the applicant sees, internal notes they do not', async () => {
      const id = await create();
      await submit(id).expect(200);
      await screen(id, { outcome: 'return' }).expect(400);
      await screen(id, { outcome: 'later', remarks: 'x' }).expect(400);
      await screen(id, {
        outcome: 'return',
        remarks: 'Add the CAG letter',
        notes: 'Applicant known to be slow',
      }).expect(200);
      const mine = (await t.http.get(`/api/bids/${id}/events`).set(researcherA.auth).expect(200)).body;
      expect(mine.map((e: { action: string }) => e.action)).toEqual(['create', 'submit', 'screen_return']);
      expect(mine[2]).toMatchObject({
        fromState: 'submitted',
        toState: 'returned',
        remarks: 'Add the CAG letter',
        actorId: officer.user.id,
      });
      expect(JSON.stringify(mine)).not.toContain('slow');
      const theirs = (await t.http.get(`/api/bids/${id}/events`).set(admin.auth).expect(200)).body;
      expect(theirs[2].internalNotes).toBe('Applicant known to be slow');
    });

    it('refuses illegal transitions with 409 ILLEGAL_TRANSITION and roles with 403', async () => {
      const id = await create();
      let res = await screen(id).expect(404); // a draft is not visible to reviewers
      await submit(id).expect(200);
      res = await submit(id).expect(409);
      expect(res.body).toMatchObject({ statusCode: 409, code: 'ILLEGAL_TRANSITION' });
      res = await t.http.post(`/api/bids/${id}/agreement/accept`).set(researcherA.auth).expect(409);
      expect(res.body.code).toBe('ILLEGAL_TRANSITION');
      await screen(id, { outcome: 'accept' }, await t.as('panel_member')).expect(403);
      await t.http
        .post(`/api/bids/${id}/revoke`)
        .set(researcherA.auth)
        .send({ reason: 'because' })
        .expect(403);
      res = await t.http
        .post(`/api/bids/${id}/revoke`)
        .set(admin.auth)
        .send({ reason: 'because' })
        .expect(409);
      expect(res.body.code).toBe('ILLEGAL_TRANSITION');
      await screen(id).expect(200);
      res = await screen(id).expect(409);
      expect(res.body.code).toBe('ILLEGAL_TRANSITION');
    });

    it('withdraws from any state before approval, never after', async () => {
      const draft = await create();
      await t.http
        .post(`/api/bids/${draft}/withdraw`)
        .set(researcherA2.auth)
        .send({ remarks: 'no longer needed' })
        .expect(200);
      const review = await inReview();
      const res = await t.http
        .post(`/api/bids/${review}/withdraw`)
        .set(researcherA.auth)
        .send({})
        .expect(200);
      expect(res.body.state).toBe('withdrawn');
      await vote(review, panel[0]).expect(409);
      const ok = await approved();
      expect(
        (await t.http.post(`/api/bids/${ok}/withdraw`).set(researcherA.auth).send({}).expect(409)).body.code,
      ).toBe('ILLEGAL_TRANSITION');
      await t.http.post(`/api/bids/${draft}/submit`).set(researcherA.auth).expect(409);
    });

    it('writes one event and one audit entry per change, with actor, time and remarks', async () => {
      const id = await approved();
      const { rows } = await t.sql.query(
        `SELECT action, from_state, to_state, actor_id FROM bid_events WHERE bid_id = $1 AND to_state IS NOT NULL ORDER BY id`,
        [id],
      );
      expect(rows.map((r) => `${r.from_state ?? ''}->${r.to_state}`)).toEqual([
        '->draft',
        'draft->submitted',
        'submitted->in_review',
        'in_review->approved',
      ]);
      expect(rows[3].actor_id).toBe(panel[2].user.id);
      const audit = await t.sql.query(`SELECT action FROM audit_log WHERE bid_id = $1 ORDER BY id`, [id]);
      // Each change's notices (#25) are announced in its transaction, just before its own entry.
      expect(audit.rows.map((r) => r.action)).toEqual([
        'bid.create',
        'notification.queued',
        'bid.submit',
        'notification.queued',
        'bid.screen_accept',
        'bid.vote',
        'bid.vote',
        'bid.vote',
        'notification.queued',
        'bid.decide_approve',
      ]);
    });
  });

  describe('panel', () => {
    it('refuses a vote before screening: 404 to a panel member (not theirs to read), 409 to a release officer on the panel', async () => {
      const id = await create();
      await submit(id).expect(200);
      // The same answer as an unknown id: the vote told the panel member the bid's state (a review).
      const unknown = (await vote(randomUUID(), panel[0]).expect(404)).body;
      expect((await vote(id, panel[0]).expect(404)).body).toEqual(unknown);
      const dual = await t.as(['release_officer', 'panel_member'], { organisationId: centre });
      expect((await vote(id, dual).expect(409)).body.code).toBe('ILLEGAL_TRANSITION');
    });

    it("a panel member's vote on a bid the panel may not read is the unknown id's 404: waiting for screening, returned at it, withdrawn before it, resubmitted after the panel's return (a review)", async () => {
      const unknown = (await vote(randomUUID(), panel[0]).expect(404)).body;
      const waiting = await create();
      await submit(waiting).expect(200);
      const returnedAtScreening = await create();
      await submit(returnedAtScreening).expect(200);
      await screen(returnedAtScreening, { outcome: 'return', remarks: 'Say more' }).expect(200);
      const withdrawnBefore = await create();
      await submit(withdrawnBefore).expect(200);
      await t.http.post(`/api/bids/${withdrawnBefore}/withdraw`).set(researcherA.auth).send({}).expect(200);
      // Returned by the panel, edited and resubmitted: the release officer screens it first.
      const resubmitted = await inReview();
      for (const p of panel.slice(0, 3))
        await vote(resubmitted, p, { decision: 'return', conditions: ['Narrow the cohort'] }).expect(201);
      expect(await state(resubmitted)).toBe('returned');
      await t.http.get(`/api/bids/${resubmitted}`).set(panel[3].auth).expect(200);
      await submit(resubmitted).expect(200);
      for (const id of [waiting, returnedAtScreening, withdrawnBefore, resubmitted]) {
        expect((await vote(id, panel[3]).expect(404)).body, id).toEqual(unknown);
        await t.http.get(`/api/bids/${id}`).set(panel[3].auth).expect(404);
        await t.http.get(`/api/bids/${id}`).set(officer.auth).expect(200);
      }
      const listed = (await t.http.get('/api/bids?limit=200').set(panel[3].auth).expect(200)).body.items.map(
        (x: { id: string }) => x.id,
      );
      expect(listed).not.toContain(resubmitted);
      // Screened into review again: the panel's once more.
      await screen(resubmitted).expect(200);
      await t.http.get(`/api/bids/${resubmitted}`).set(panel[3].auth).expect(200);
    });

    it('refuses a release officer (403) and an admin holding panel_member (403)', async () => {
      const id = await inReview();
      await vote(id, officer).expect(403);
      const adminPanel = await t.as(['admin', 'panel_member'], { organisationId: centre });
      expect((await vote(id, adminPanel).expect(403)).body.code).toBe('FORBIDDEN');
      await vote(id, researcherB).expect(403);
    });

    it('recuses members of the applicant organisation with 403 RECUSED, whatever their other roles', async () => {
      const id = await inReview();
      const member = await t.as('panel_member', { organisationId: orgA });
      const both = await t.as(['researcher', 'panel_member'], { organisationId: orgA });
      for (const who of [member, both]) {
        const res = await vote(id, who).expect(403);
        expect(res.body).toMatchObject({ statusCode: 403, code: 'RECUSED' });
      }
      const { rows } = await t.sql.query(`SELECT count(*)::int AS n FROM bid_votes WHERE bid_id = $1`, [id]);
      expect(rows[0].n).toBe(0);
      const denied = await t.sql.query(
        `SELECT actor_id, details FROM audit_log WHERE bid_id = $1 AND action = 'bid.vote' AND outcome = 'denied' ORDER BY id`,
        [id],
      );
      expect(denied.rows).toEqual([
        { actor_id: member.user.id, details: { code: 'RECUSED' } },
        { actor_id: both.user.id, details: { code: 'RECUSED' } },
      ]);
    });

    it('a release officer who screened the bid and also sits on the panel cannot vote on it', async () => {
      const dual = await t.as(['release_officer', 'panel_member'], { organisationId: centre });
      const id = await create();
      await submit(id).expect(200);
      await screen(id, { outcome: 'accept' }, dual).expect(200);
      expect((await vote(id, dual).expect(403)).body.code).toBe('SEGREGATION_OF_DUTIES');
      const other = await inReview();
      await vote(other, dual).expect(201);
    });

    it('a release officer cannot screen a bid of their own organisation', async () => {
      const own = await t.as('release_officer', { organisationId: orgA });
      const id = await create();
      await submit(id).expect(200);
      expect((await screen(id, { outcome: 'accept' }, own).expect(403)).body.code).toBe(
        'SEGREGATION_OF_DUTIES',
      );
    });

    it('one vote per member (409 ALREADY_VOTED)', async () => {
      const id = await inReview();
      await vote(id, panel[0]).expect(201);
      expect((await vote(id, panel[0], { decision: 'reject' }).expect(409)).body.code).toBe('ALREADY_VOTED');
    });

    it('a declared conflict is recorded as recused and not counted towards quorum', async () => {
      const id = await inReview();
      const r1 = await vote(id, panel[0], {
        conflictOfInterest: true,
        interests: 'Co-author of the applicant',
      }).expect(201);
      expect(r1.body).toMatchObject({ recused: true, counted: 0, quorum: 3, bidState: 'in_review' });
      await vote(id, panel[1]).expect(201);
      const r3 = await vote(id, panel[2]).expect(201);
      expect(r3.body).toMatchObject({ counted: 2, bidState: 'in_review' });
      expect(await state(id)).toBe('in_review');
      const r4 = await vote(id, panel[3]).expect(201);
      expect(r4.body).toMatchObject({ counted: 3, bidState: 'approved' });
      expect(await vote(id, panel[4]).expect(409)).toBeTruthy();
      expect(await decisionEvents(id)).toBe(1);
    });

    it('a tier (and the linkage approval) only with approve: a reject or return vote naming one is a 400, and nothing is recorded; null is no value', async () => {
      const id = await inReview();
      const votes = async () =>
        (await t.sql.query('SELECT count(*)::int AS n FROM bid_votes WHERE bid_id = $1', [id])).rows[0]
          .n as number;
      for (const decision of ['reject', 'return']) {
        const res = await vote(id, panel[0], { decision, tier: 'aggregate' });
        expect(res.body).toMatchObject({ statusCode: 400, code: 'VALIDATION_FAILED' });
        expect(res.body.message).toContain('tier');
      }
      expect((await vote(id, panel[0], { decision: 'approve', tier: null })).body.message).toContain('tier');
      // The linkage approval goes with an approval too (conditions also carry what returning members
      // ask for); null is no value in any of the vote's optional properties.
      expectRefusedNaming(
        await vote(id, panel[0], { decision: 'reject', approveLinkage: true }),
        'approveLinkage',
      );
      for (const field of ['conditions', 'approveLinkage', 'interests'])
        expectRefusedNaming(await vote(id, panel[0], { decision: 'approve', [field]: null }), field);
      expect(await votes()).toBe(0);
      expect((await vote(id, panel[0], { decision: 'reject' }).expect(201)).body.decision).toBe('reject');
      expect(
        (await vote(id, panel[1], { decision: 'approve', tier: 'anonymised' }).expect(201)).body.tier,
      ).toBe('anonymised');
    });

    it('approving at the aggregate tier uses the dimensions the bid states (SPEC §4 example); without them it is refused', async () => {
      const bare = await inReview();
      expect((await vote(bare, panel[0], { tier: 'aggregate' }).expect(400)).body.code).toBe(
        'AGGREGATION_REQUIRED',
      );
      const id = await inReview({ aggregation: { dimensions: ['sex', 'age_band'] } });
      for (const p of panel.slice(0, 3)) await vote(id, p, { tier: 'aggregate' }).expect(201);
      const bid = await t.http.get(`/api/bids/${id}`).set(researcherA.auth).expect(200);
      expect(bid.body).toMatchObject({
        state: 'approved',
        requestedTier: 'pseudonymised',
        grantedTier: 'aggregate',
        aggregation: { dimensions: ['sex', 'age_band'] },
      });
    });

    it('majority reject → rejected', async () => {
      const id = await inReview();
      await vote(id, panel[0], { decision: 'reject' }).expect(201);
      await vote(id, panel[1], { decision: 'approve' }).expect(201);
      const r = await vote(id, panel[2], { decision: 'reject' }).expect(201);
      expect(r.body.bidState).toBe('rejected');
      const bid = (await t.http.get(`/api/bids/${id}`).set(researcherA.auth).expect(200)).body;
      expect(bid).toMatchObject({ state: 'rejected', grantedTier: null, agreement: null });
    });

    it('mixed votes → returned, and the bid can be edited and resubmitted for a new round', async () => {
      const id = await inReview();
      await vote(id, panel[0], { decision: 'approve', conditions: ['Annual report'] }).expect(201);
      await vote(id, panel[1], { decision: 'reject' }).expect(201);
      const r = await vote(id, panel[2], {
        decision: 'return',
        conditions: ['Narrow the cohort to adults', 'Say how long the data is kept'],
      }).expect(201);
      expect(r.body.bidState).toBe('returned');
      // The applicant reads what the returning members asked for (a walk-through: it was dropped),
      // not who asked, and not an approving member's conditions.
      const events = (await t.http.get(`/api/bids/${id}/events`).set(researcherA.auth).expect(200)).body;
      const returned = (events.items ?? events).find((e: { action: string }) => e.action === 'decide_return');
      expect(returned.remarks).toBe(
        'Returned by the panel for changes:\n- Narrow the cohort to adults\n- Say how long the data is kept',
      );
      await t.http.patch(`/api/bids/${id}`).set(researcherA.auth).send({ durationMonths: 6 }).expect(200);
      await submit(id).expect(200);
      await screen(id).expect(200);
      // A new review round: the same members vote again.
      for (const p of panel.slice(0, 3)) await vote(id, p).expect(201);
      expect(await state(id)).toBe('approved');
    });

    it('grants the least identifying tier among approving votes, never above the request, with conditions', async () => {
      const id = await inReview();
      const above = await vote(id, panel[0], { tier: 'identifiable' }).expect(400);
      expect(above.body.code).toBe('TIER_ABOVE_REQUEST');
      await vote(id, panel[0], { conditions: ['No linkage to other data'] }).expect(201);
      await vote(id, panel[1], { tier: 'anonymised', conditions: ['Annual report to the panel'] }).expect(
        201,
      );
      await vote(id, panel[2], { decision: 'reject' }).expect(201);
      const bid = (await t.http.get(`/api/bids/${id}`).set(researcherA.auth).expect(200)).body;
      expect(bid).toMatchObject({
        state: 'approved',
        requestedTier: 'pseudonymised',
        grantedTier: 'anonymised',
        // Granted anonymised, the bid's files still follow persons through their events (a person
        // column and a row per event), so the no-linkage condition is added (#27).
        conditions: ['No linkage to other data', 'Annual report to the panel', NO_LINKAGE_CONDITION],
      });
      expect(bid.agreement).toMatchObject({
        reference: expect.stringMatching(/^DSA-\d{4}-\d{4}-v1$/),
        version: 1,
        status: 'offered',
        tier: 'anonymised',
        startDate: null,
        endDate: null,
      });
    });

    it('applicants see the decision and conditions, never individual votes', async () => {
      const id = await inReview();
      await vote(id, panel[0], { conditions: ['Condition A'] }).expect(201);
      await vote(id, panel[1], { conflictOfInterest: true }).expect(201);
      await vote(id, panel[2], { decision: 'reject' }).expect(201);
      await vote(id, panel[3], { conditions: ['Condition B'] }).expect(201);
      const mine = (await t.http.get(`/api/bids/${id}/events`).set(researcherA.auth).expect(200)).body;
      expect(mine.map((e: { action: string }) => e.action)).toEqual([
        'create',
        'submit',
        'screen_accept',
        'decide_approve',
      ]);
      expect(mine[3].details).toEqual({
        outcome: 'approved',
        grantedTier: 'pseudonymised',
        // #27: a pseudonymised grant carries the no-linkage condition unless linkage was approved.
        conditions: ['Condition A', 'Condition B', NO_LINKAGE_CONDITION],
      });
      // Not even the member whose vote reached quorum (panel[3]) is named to the applicant.
      expect(mine[3]).toMatchObject({ actorId: null, actorRoles: ['panel_member'] });
      const text = JSON.stringify(mine);
      for (const p of panel.slice(0, 4)) expect(text).not.toContain(p.user.id);
      expect(text).not.toContain('reject');
      const reviewer = (await t.http.get(`/api/bids/${id}/events`).set(auditor.auth).expect(200)).body;
      expect(reviewer.filter((e: { action: string }) => e.action.startsWith('vote'))).toHaveLength(4);
      // The applicant who also sits on the panel still sees no votes.
      const both = await t.as(['researcher', 'panel_member'], { organisationId: orgA });
      const theirs = (await t.http.get(`/api/bids/${id}/events`).set(both.auth).expect(200)).body;
      expect(theirs.some((e: { action: string }) => e.action.startsWith('vote'))).toBe(false);
    });

    it('20 parallel votes produce exactly one decision', async () => {
      const id = await inReview();
      const members = await Promise.all(
        Array.from({ length: 20 }, () => t.as('panel_member', { organisationId: centre })),
      );
      const results = await Promise.all(
        members.map((m, i) => vote(id, m, { decision: i % 2 ? 'approve' : 'reject' })),
      );
      const codes = results.map((r) => r.status).sort();
      expect(codes.filter((c) => c === 201)).toHaveLength(3);
      expect(codes.filter((c) => c === 409)).toHaveLength(17);
      expect(await decisionEvents(id)).toBe(1);
      const { rows } = await t.sql.query(`SELECT count(*)::int AS n FROM bid_votes WHERE bid_id = $1`, [id]);
      expect(rows[0].n).toBe(3);
      const agreements = await t.sql.query(`SELECT count(*)::int AS n FROM agreements WHERE bid_id = $1`, [
        id,
      ]);
      expect(agreements.rows[0].n).toBe((await state(id)) === 'approved' ? 1 : 0);
    });

    it('approval racing a withdrawal: exactly one wins', async () => {
      for (let round = 0; round < 3; round++) {
        const id = await inReview();
        await vote(id, panel[0]).expect(201);
        await vote(id, panel[1]).expect(201);
        const [v, w] = await Promise.all([
          vote(id, panel[2]),
          t.http.post(`/api/bids/${id}/withdraw`).set(researcherA.auth).send({}),
        ]);
        const final = await state(id);
        if (w.status === 200) {
          expect(final).toBe('withdrawn');
          expect(v.status).toBe(409);
          expect(await decisionEvents(id)).toBe(0);
        } else {
          expect(w.status).toBe(409);
          expect(v.status).toBe(201);
          expect(final).toBe('approved');
          expect(await decisionEvents(id)).toBe(1);
        }
      }
    });
  });

  describe('agreements', () => {
    it('acceptance starts the term and makes the bid active; end = start + durationMonths', async () => {
      const id = await approved({ durationMonths: 12 });
      const res = await t.http.post(`/api/bids/${id}/agreement/accept`).set(researcherA2.auth).expect(200);
      expect(res.body.state).toBe('active');
      const today = new Date().toISOString().slice(0, 10);
      const end = new Date(`${today}T00:00:00Z`);
      end.setUTCMonth(end.getUTCMonth() + 12);
      expect(res.body.agreement).toMatchObject({ status: 'active', startDate: today });
      expect(res.body.agreement.endDate.slice(0, 7)).toBe(end.toISOString().slice(0, 7));
      await t.http.post(`/api/bids/${id}/agreement/accept`).set(researcherA.auth).expect(409);
      await t.http.post(`/api/bids/${id}/agreement/accept`).set(officer.auth).expect(403);
    });

    it('numbers references from a sequence, zero-padded', async () => {
      const a = await approved();
      const b = await approved();
      const { rows } = await t.sql.query(
        `SELECT reference, number FROM agreements WHERE bid_id = ANY($1) ORDER BY number`,
        [[a, b]],
      );
      expect(rows[1].number).toBe(rows[0].number + 1);
      const year = new Date().getUTCFullYear();
      expect(rows[0].reference).toBe(`DSA-${year}-${String(rows[0].number).padStart(4, '0')}-v1`);
    });

    it('an admin revokes with a reason; the release module is told to destroy the files', async () => {
      const id = await approved();
      await t.http.post(`/api/bids/${id}/agreement/accept`).set(researcherA.auth).expect(200);
      await t.http.post(`/api/bids/${id}/revoke`).set(admin.auth).send({}).expect(400);
      const res = await t.http
        .post(`/api/bids/${id}/revoke`)
        .set(admin.auth)
        .send({ reason: 'Breach of condition 2' })
        .expect(200);
      expect(res.body).toMatchObject({ state: 'revoked', agreement: { status: 'revoked' } });
      const { rows } = await t.sql.query(`SELECT end_reason, ended_by FROM agreements WHERE bid_id = $1`, [
        id,
      ]);
      expect(rows[0]).toEqual({ end_reason: 'Breach of condition 2', ended_by: admin.user.id });
      expect(await destroyJobs(id)).toEqual([{ bidId: id, reason: 'revoked' }]);
      const events = (await t.http.get(`/api/bids/${id}/events`).set(researcherA.auth).expect(200)).body;
      expect(events.at(-1)).toMatchObject({
        action: 'revoke',
        remarks: 'Breach of condition 2',
        toState: 'revoked',
      });
    });

    it('the applicant closes an active agreement early; the release module is told to destroy the files', async () => {
      const id = await approved();
      expect((await t.http.post(`/api/bids/${id}/close`).set(researcherA.auth).expect(409)).body.code).toBe(
        'ILLEGAL_TRANSITION',
      );
      await t.http.post(`/api/bids/${id}/agreement/accept`).set(researcherA.auth).expect(200);
      await t.http.post(`/api/bids/${id}/close`).set(researcherB.auth).expect(404);
      const res = await t.http.post(`/api/bids/${id}/close`).set(researcherA2.auth).expect(200);
      expect(res.body).toMatchObject({ state: 'closed', agreement: { status: 'closed' } });
      expect(await destroyJobs(id)).toEqual([{ bidId: id, reason: 'closed' }]);
      expect(await t.app.get(AgreementsService).findReleasable(id)).toBeNull();
    });

    it('acceptance racing a revocation ends consistently', async () => {
      for (let round = 0; round < 3; round++) {
        const id = await approved();
        const [acc, rev] = await Promise.all([
          t.http.post(`/api/bids/${id}/agreement/accept`).set(researcherA.auth),
          t.http.post(`/api/bids/${id}/revoke`).set(admin.auth).send({ reason: 'Withdrawn by the centre' }),
        ]);
        expect(rev.status).toBe(200);
        expect(await state(id)).toBe('revoked');
        const { rows } = await t.sql.query(`SELECT status FROM agreements WHERE bid_id = $1`, [id]);
        expect(rows).toEqual([{ status: 'revoked' }]);
        // Either the acceptance came first (and was then revoked) or it found the bid revoked.
        expect([200, 409]).toContain(acc.status);
        const events = await t.sql.query(
          `SELECT action FROM bid_events WHERE bid_id = $1 AND to_state IS NOT NULL ORDER BY id`,
          [id],
        );
        const tail = events.rows.map((r) => r.action).slice(4);
        expect(tail).toEqual(acc.status === 200 ? ['accept_agreement', 'revoke'] : ['revoke']);
      }
    });

    it('the sweep expires agreements whose end date has come, and only those', async () => {
      const agreements = t.app.get(AgreementsService);
      const due = await approved();
      const current = await approved();
      for (const id of [due, current])
        await t.http.post(`/api/bids/${id}/agreement/accept`).set(researcherA.auth).expect(200);
      expect(await agreements.findReleasable(due)).toMatchObject({
        grantedTier: 'pseudonymised',
        legalBasis: 's251',
        recipients: [researcherA.user.id],
        voters: expect.arrayContaining(panel.slice(0, 3).map((p) => p.user.id)),
        objections: { applied: true },
      });
      await t.sql.query(
        `UPDATE agreements SET start_date = current_date - 400, end_date = current_date - 1 WHERE bid_id = $1`,
        [due],
      );
      expect(await agreements.findReleasable(due)).toBeNull();
      // (The hourly cron may run the same sweep in this process; either way the outcome is the same.)
      const expired = await agreements.sweepExpired();
      expect(expired).not.toContain(current);
      expect(await state(due)).toBe('expired');
      expect(await state(current)).toBe('active');
      expect(await destroyJobs(due)).toEqual([{ bidId: due, reason: 'expired' }]);
      const { rows } = await t.sql.query(`SELECT status FROM agreements WHERE bid_id = $1`, [due]);
      expect(rows[0].status).toBe('expired');
      expect(await agreements.sweepExpired()).not.toContain(due);
      const events = (await t.http.get(`/api/bids/${due}/events`).set(researcherA.auth).expect(200)).body;
      expect(events.at(-1)).toMatchObject({
        action: 'expire',
        actorId: null,
        actorRoles: ['system'],
        toState: 'expired',
      });
      expect(await agreements.findReleasable(current)).not.toBeNull();
    });

    it('the sweep re-announces a destruction that was lost between commit and send', async () => {
      const id = await approved();
      await t.http.post(`/api/bids/${id}/agreement/accept`).set(researcherA.auth).expect(200);
      await t.http.post(`/api/bids/${id}/revoke`).set(admin.auth).send({ reason: 'Breach' }).expect(200);
      const marked = await t.sql.query(
        `SELECT destruction_announced_at IS NOT NULL AS done FROM agreements WHERE bid_id = $1`,
        [id],
      );
      expect(marked.rows[0].done).toBe(true);
      // Simulate a crash after the commit: the job was never sent.
      await t.sql.query(`DELETE FROM pgboss.job WHERE name = 'release.destroy' AND data->>'bidId' = $1`, [
        id,
      ]);
      await t.sql.query(
        `UPDATE agreements SET destruction_announced_at = NULL, ended_at = now() - interval '5 minutes' WHERE bid_id = $1`,
        [id],
      );
      await t.app.get(AgreementsService).sweepExpired();
      expect(await destroyJobs(id)).toEqual([{ bidId: id, reason: 'revoked' }]);
    });
  });

  describe('consent cohorts', () => {
    const consent = () =>
      create(researcherA, {
        legalBasis: 'consent',
        legalBasisReference: undefined,
        requestedTier: 'identifiable',
      });
    const put = (id: string, body: string, who = researcherA) =>
      t.http.put(`/api/bids/${id}/cohort`).set(who.auth).set('content-type', 'text/plain').send(body);

    it('stores valid NHS numbers with COPY and answers with counts only', async () => {
      const id = await consent();
      expect((await submit(id).expect(409)).body.code).toBe('CONSENT_COHORT_REQUIRED');
      const res = await put(id, '9434765919\n943 476 5870\r\n\n4010232137\n9434765919\n').expect(200);
      expect(res.body).toEqual({ received: 4, stored: 3, duplicates: 1 });
      const { rows } = await t.sql.query(
        `SELECT nhs_number FROM bid_cohort_members WHERE bid_id = $1 ORDER BY 1`,
        [id],
      );
      expect(rows.map((r) => r.nhs_number)).toEqual(['4010232137', '9434765870', '9434765919']);
      // A new file replaces the old one.
      expect((await put(id, '9434765919').expect(200)).body).toEqual({
        received: 1,
        stored: 1,
        duplicates: 0,
      });
      expect((await t.http.get(`/api/bids/${id}`).set(researcherA.auth).expect(200)).body.cohortSize).toBe(1);
      await submit(id).expect(200);
      expect((await put(id, '9434765919').expect(409)).body.code).toBe('BID_NOT_EDITABLE');
    });

    it('refuses the whole file naming bad line numbers, never the numbers', async () => {
      const id = await consent();
      await put(id, '9434765919\n').expect(200);
      const res = await put(id, '9434765870\n1234567890\n9434765918\nhello\n4010232137\n').expect(400);
      expect(res.body).toMatchObject({
        code: 'INVALID_NHS_NUMBERS',
        details: { badCount: 3, badLines: [2, 3, 4] },
      });
      const text = JSON.stringify(res.body);
      for (const n of ['1234567890', '9434765918', 'hello', '9434765870']) expect(text).not.toContain(n);
      const { rows } = await t.sql.query(`SELECT nhs_number FROM bid_cohort_members WHERE bid_id = $1`, [id]);
      expect(rows.map((r) => r.nhs_number)).toEqual(['9434765919']);
      const audit = await t.sql.query(`SELECT details FROM audit_log WHERE bid_id = $1`, [id]);
      expect(JSON.stringify(audit.rows)).not.toMatch(/\d{10}/);
    });

    it('handles a large cohort streamed in chunks', async () => {
      const id = await consent();
      const valid: string[] = [];
      for (let n = 400000000; valid.length < 50_000; n++) {
        const s = String(n);
        let sum = 0;
        for (let i = 0; i < 9; i++) sum += Number(s[i]) * (10 - i);
        const c = 11 - (sum % 11);
        if (c === 10) continue;
        valid.push(`${s}${c === 11 ? 0 : c}`);
      }
      const started = Date.now();
      const res = await put(id, `${valid.join('\n')}\n`).expect(200);
      expect(res.body).toEqual({ received: 50_000, stored: 50_000, duplicates: 0 });
      expect(Date.now() - started).toBeLessThan(10_000);
    });

    it('is only for consent bids, and refuses other organisations with 404', async () => {
      const id = await create();
      expect((await put(id, '9434765919\n').expect(409)).body.code).toBe('COHORT_NOT_ALLOWED');
      const c = await consent();
      await put(c, '9434765919\n', researcherB).expect(404);
      await put(c, '', researcherA).expect(400);
    });
  });

  describe('register', () => {
    it('lists approved bids publicly, in JSON and CSV, with objection handling and agreement', async () => {
      const commercialBid = await create(researcherB, {
        legalBasis: 'statutory',
        legalBasisReference: 'Health and Social Care Act 2012 s254',
        title: 'Commercial, statutory, with "quotes", and commas',
      });
      await submit(commercialBid, researcherB).expect(200);
      await screen(commercialBid).expect(200);
      for (const p of panel.slice(0, 3)) await vote(commercialBid, p).expect(201);
      await t.http.post(`/api/bids/${commercialBid}/agreement/accept`).set(researcherB.auth).expect(200);
      const draft = await create();

      const res = await t.http.get('/api/register').expect(200);
      const line = res.body.find((l: { bidId: string }) => l.bidId === commercialBid);
      expect(line).toMatchObject({
        type: 'decision',
        organisationKind: 'commercial',
        commercial: true,
        tier: 'pseudonymised',
        legalBasis: 'statutory',
        status: 'active',
        datasets: ['gp', 'hes'],
        agreementReference: expect.stringMatching(/^DSA-/),
        agreementStart: new Date().toISOString().slice(0, 10),
        objectionsApplied: false,
        objectionsNote: expect.stringMatching(/statute/),
      });
      expect(res.body.some((l: { bidId: string }) => l.bidId === draft)).toBe(false);
      const states = new Set(res.body.map((l: { status: string }) => l.status));
      for (const s of states) expect(['approved', 'active', 'expired', 'revoked', 'closed']).toContain(s);

      const filtered = await t.http.get('/api/register?legalBasis=statutory&tier=pseudonymised').expect(200);
      expect(filtered.body.map((l: { bidId: string }) => l.bidId)).toEqual([commercialBid]);
      await t.http.get('/api/register?tier=secret').expect(400);

      const csv = await t.http.get('/api/register?format=csv').expect(200);
      expect(csv.headers['content-type']).toMatch(/^text\/csv/);
      const rows = csv.text.trim().split('\r\n');
      expect(rows[0]).toBe(
        'type,date,organisation,organisationKind,commercial,title,purpose,datasets,tier,legalBasis,legalBasisReference,status,agreementReference,agreementStart,agreementEnd,objectionsApplied,objectionsNote,filesDestroyedAt,bidId,releaseId,differencingGuard,independentlyVerified,files',
      );
      expect(rows).toHaveLength(res.body.length + 1);
      expect(csv.text).toContain('"Commercial, statutory, with ""quotes"", and commas"');
      expect(csv.text).toContain(',commercial,true,');
    });

    it('carries one line per release, as the release module inserts them', async () => {
      const id = await approved();
      await t.http.post(`/api/bids/${id}/agreement/accept`).set(researcherA.auth).expect(200);
      await t.sql.query(
        `INSERT INTO register_entries (kind, bid_id, release_id, tier, objections_applied, objections_note)
         VALUES ('release', $1, gen_random_uuid(), 'pseudonymised', true, 'Type 2 objections applied (register as of 2026-01-01T00:00:00Z)')`,
        [id],
      );
      const lines = (await t.http.get('/api/register').expect(200)).body.filter(
        (l: { bidId: string }) => l.bidId === id,
      );
      expect(lines.map((l: { type: string }) => l.type).sort()).toEqual(['decision', 'release']);
      expect(lines.find((l: { type: string }) => l.type === 'release')).toMatchObject({
        objectionsApplied: true,
        releaseId: expect.any(String),
        agreementReference: expect.stringMatching(/^DSA-/),
      });
    });
  });

  describe('contract', () => {
    it('declares one permission per route, as reviewed here', async () => {
      const declared: Record<string, string> = {};
      for (const ctrl of [BidsController, PanelController, CatalogController, RegisterController]) {
        for (const name of Object.getOwnPropertyNames(ctrl.prototype).filter((n) => n !== 'constructor')) {
          const handler = (ctrl.prototype as unknown as Record<string, object>)[name];
          const p = Reflect.getMetadata(PERMISSION, handler);
          declared[`${ctrl.name}.${name}`] = Reflect.getMetadata(IS_PUBLIC, handler)
            ? 'public'
            : `${p.action}:${p.subject}`;
        }
      }
      expect(declared).toEqual({
        'BidsController.create': 'create:Bid',
        'BidsController.list': 'read:Bid',
        'BidsController.get': 'read:Bid',
        'BidsController.update': 'update:Bid',
        'BidsController.cohort': 'upload:Bid',
        'BidsController.submit': 'submit:Bid',
        'BidsController.withdraw': 'withdraw:Bid',
        'BidsController.accept': 'accept:Agreement',
        'BidsController.revoke': 'revoke:Agreement',
        'BidsController.close': 'withdraw:Agreement',
        'BidsController.events': 'read:Bid',
        'PanelController.screen': 'screen:Bid',
        'PanelController.vote': 'vote:Bid',
        'CatalogController.get': 'read:Dataset',
        'RegisterController.get': 'public',
        'RegisterController.publicKey': 'public',
        'RegisterController.checkpoint': 'public',
        'RegisterController.checkpoints': 'public',
        'RegisterController.log': 'public',
        'RegisterController.auditHashes': 'public',
      });
    });

    it.each<[Role[], string[]]>([
      [
        ['researcher'],
        [
          'create:Bid',
          'read:Bid',
          'update:Bid',
          'upload:Bid',
          'submit:Bid',
          'withdraw:Bid',
          'accept:Agreement',
          'withdraw:Agreement',
          'read:Dataset',
        ],
      ],
      [['panel_member'], ['read:Bid', 'vote:Bid', 'read:Dataset']],
      [['release_officer'], ['read:Bid', 'screen:Bid', 'read:Dataset']],
      [['admin'], ['read:Bid', 'revoke:Agreement', 'read:Dataset']],
      [
        ['admin', 'panel_member'],
        ['read:Bid', 'revoke:Agreement', 'read:Dataset'],
      ],
      [['auditor'], ['read:Bid', 'read:Dataset']],
      [['data_manager'], ['read:Dataset']],
    ])('grants %j exactly %j on bids, agreements and datasets', async (roles, expected) => {
      const ability = defineAbilityFor({
        id: 'x',
        email: 'x',
        roles,
        organisationId: null,
        practiceOds: null,
        sessionId: 's',
      });
      const actions = [
        'create',
        'read',
        'update',
        'upload',
        'submit',
        'withdraw',
        'screen',
        'vote',
        'accept',
        'revoke',
        'release',
        'delete',
      ] as const;
      const granted = (['Bid', 'Agreement', 'Dataset'] as const).flatMap((s) =>
        actions.filter((a) => ability.can(a, s)).map((a) => `${a}:${s}`),
      );
      expect(granted.sort()).toEqual([...expected].sort());
    });

    it('documents every body and response in OpenAPI', async () => {
      const doc = (await t.http.get('/api/docs-json').expect(200)).body;
      const paths = doc.paths;
      for (const p of [
        '/api/datasets',
        '/api/bids',
        '/api/bids/{id}',
        '/api/bids/{id}/cohort',
        '/api/bids/{id}/submit',
        '/api/bids/{id}/withdraw',
        '/api/bids/{id}/screen',
        '/api/bids/{id}/votes',
        '/api/bids/{id}/agreement/accept',
        '/api/bids/{id}/revoke',
        '/api/bids/{id}/close',
        '/api/bids/{id}/events',
        '/api/register',
      ])
        expect(paths[p], p).toBeDefined();
      const ref = (op: { requestBody?: { content: Record<string, { schema: { $ref?: string } }> } }) =>
        op.requestBody?.content['application/json']?.schema.$ref;
      expect(ref(paths['/api/bids'].post)).toBe('#/components/schemas/CreateBidDto');
      expect(ref(paths['/api/bids/{id}'].patch)).toBe('#/components/schemas/UpdateBidDto');
      expect(ref(paths['/api/bids/{id}/screen'].post)).toBe('#/components/schemas/ScreenBidDto');
      expect(ref(paths['/api/bids/{id}/votes'].post)).toBe('#/components/schemas/VoteDto');
      expect(ref(paths['/api/bids/{id}/revoke'].post)).toBe('#/components/schemas/RevokeBidDto');
      expect(paths['/api/bids/{id}/cohort'].put.requestBody.content['text/plain']).toBeDefined();
      for (const [p, ops] of Object.entries(
        paths as Record<string, Record<string, { responses: Record<string, { content?: unknown }> }>>,
      )) {
        if (!/^\/api\/(bids|datasets|register)/.test(p)) continue;
        for (const [method, op] of Object.entries(ops)) {
          const ok = Object.entries(op.responses).find(([code]) => code.startsWith('2'));
          expect(ok?.[1].content, `${method} ${p}`).toBeDefined();
        }
      }
      const vote = doc.components.schemas.VoteDto;
      expect(vote.required.sort()).toEqual(['conflictOfInterest', 'decision']);
      expect(Object.keys(doc.components.schemas.CreateBidDto.properties).sort()).toEqual(
        [
          'aggregation',
          'cohort',
          'datasets',
          'durationMonths',
          'legalBasis',
          'legalBasisReference',
          'publicBenefit',
          'purpose',
          'recipients',
          'requestedTier',
          'title',
        ].sort(),
      );
    });
  });
});
