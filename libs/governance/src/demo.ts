import { BIDS_SOURCE } from '@custodian/bids';
import { USERS_SOURCE } from '@custodian/identity';
import type { INestApplicationContext } from '@nestjs/common';
import { getDataSourceToken } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import type { Principal } from '@custodian/core';
import { BidAmendmentsService, BidsService, type CreateBidDto } from '@custodian/bids';
import { AmendmentReviewService } from './amendment-review.service';
import { PanelService } from './panel.service';
import { ScreeningService } from './screening.service';

const DEMO_BIDS: (CreateBidDto & { key: string })[] = [
  {
    key: 'draft',
    title: 'Type 2 diabetes and home care in Leeds',
    purpose: 'Describe how often people with type 2 diabetes receive home care, by age and sex.',
    publicBenefit: 'Helps the council plan home-care capacity for people with diabetes.',
    legalBasis: 'none',
    requestedTier: 'aggregate',
    datasets: [{ dataset: 'gp', fields: ['sex', 'code', 'event_date'] }],
    cohort: { postcodeAreas: ['LS'], conditionCodes: ['44054006'] },
    aggregation: { dimensions: ['sex', 'age_band'] },
    durationMonths: 6,
  },
  {
    key: 'submitted',
    title: 'Emergency admissions after hip fracture',
    purpose: 'Measure readmission within 30 days of a hip fracture admission, by provider and year.',
    publicBenefit: 'Identifies where post-discharge support after hip fracture needs improving.',
    legalBasis: 'none',
    requestedTier: 'anonymised',
    datasets: [
      {
        dataset: 'hes',
        fields: ['sex', 'date_of_birth', 'admission_date', 'diagnosis_icd10', 'provider_code'],
      },
    ],
    durationMonths: 12,
  },
  {
    key: 'in_review',
    title: 'Statins and stroke in Leeds',
    purpose: 'Study whether statin prescribing in primary care is associated with fewer strokes.',
    publicBenefit: 'Evidence for prescribing guidance on statins for stroke prevention.',
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
      eventsFrom: '2010-01-01',
      eventsTo: '2014-12-31',
      ageMin: 18,
      ageMax: 90,
    },
    durationMonths: 24,
  },
  {
    key: 'approved',
    title: 'Asthma prevalence by area',
    purpose: 'Count patients with an asthma diagnosis by postcode area.',
    publicBenefit: 'Maps asthma to target air-quality interventions.',
    legalBasis: 'none',
    requestedTier: 'aggregate',
    datasets: [{ dataset: 'gp', fields: ['sex', 'code', 'event_date'] }],
    cohort: { conditionCodes: ['195967001'] },
    // By area only: the demo's ~290 asthma patients spread over forty years (and a sex 'U' of two)
    // left values under AGG_MIN_POPULATION (100), and the release was refused (a portal
    // walk-through, 2026-12-06); each of the demo's two areas holds over 100.
    aggregation: { dimensions: ['postcode_area'] },
    durationMonths: 12,
  },
  {
    key: 'active',
    title: 'Social care use before hospital admission',
    purpose: 'Describe social-care services received in the year before an emergency admission.',
    publicBenefit: 'Informs joint commissioning between the NHS and local authorities.',
    legalBasis: 'none',
    requestedTier: 'anonymised',
    datasets: [
      { dataset: 'hes', fields: ['nhs_number', 'date_of_birth', 'sex', 'admission_date', 'diagnosis_icd10'] },
      { dataset: 'social_care', fields: ['nhs_number', 'service_type', 'start_date', 'end_date'] },
    ],
    durationMonths: 12,
  },
  {
    key: 'returned',
    title: 'Falls in care homes and hospital admission',
    purpose: 'Compare emergency admissions after a fall between people in care homes and at home.',
    publicBenefit: 'Shows where falls prevention in care homes would spare most admissions.',
    legalBasis: 'none',
    requestedTier: 'anonymised',
    datasets: [
      { dataset: 'hes', fields: ['sex', 'date_of_birth', 'admission_date', 'diagnosis_icd10'] },
      { dataset: 'social_care', fields: ['service_type', 'start_date'] },
    ],
    durationMonths: 36,
  },
  {
    key: 'consent_draft',
    title: 'Follow-up of the Leeds heart study volunteers',
    purpose: 'Follow up, with their consent, the volunteers of a heart study through their GP records.',
    publicBenefit: 'Long-term outcomes of a heart study, without asking volunteers to fill in forms.',
    legalBasis: 'consent',
    requestedTier: 'identifiable',
    datasets: [{ dataset: 'gp', fields: ['nhs_number', 'code', 'event_date'] }],
    durationMonths: 24,
  },
];

/**
 * The active bid's amendment in review (#25): a widening one (another social-care field, a longer
 * term), screened into the panel's review; the version in force stays in force meanwhile.
 */
async function demoAmendment(
  app: INestApplicationContext,
  researcher: Principal,
  officer: Principal,
  bidId: string,
): Promise<void> {
  const amendments = app.get(BidAmendmentsService);
  const a = await amendments.create(researcher, bidId, {
    reason:
      'The local authority of each service is needed to compare areas, and the study runs six months longer.',
    datasets: [
      { dataset: 'hes', fields: ['nhs_number', 'date_of_birth', 'sex', 'admission_date', 'diagnosis_icd10'] },
      { dataset: 'social_care', fields: ['nhs_number', 'la_code', 'service_type', 'start_date', 'end_date'] },
    ],
    durationMonths: 18,
  });
  await amendments.submit(researcher, bidId, a.version);
  await app.get(AmendmentReviewService).screen(officer, bidId, a.version, {
    outcome: 'accept',
    remarks: 'Widens the data and the term: to the panel',
  });
}

/**
 * Demo bids in several states, so every demo role has something to do: a draft (researcher), a
 * submitted bid (release officer screens it), one in review with one vote (panel members 2 and 3),
 * one approved (researcher accepts the agreement), one active (release officer releases it), one
 * returned with remarks (researcher edits and resubmits it) and a consent draft (researcher
 * attaches the consenting cohort); the active bid has an amendment in review (panel members vote).
 * Uses the demo users of apps/api/src/demo.ts; does nothing if they are missing or bids exist.
 */
export async function seedDemoBids(app: INestApplicationContext): Promise<number> {
  const db = app.get<DataSource>(getDataSourceToken());
  const [{ n }] = await db.query(`SELECT count(*)::int AS n FROM ${BIDS_SOURCE}`);
  if (n > 0) return 0;
  const users: Principal[] = await db.query(
    `SELECT id, email, roles, organisation_id AS "organisationId", practice_ods AS "practiceOds", '' AS "sessionId"
       FROM ${USERS_SOURCE} WHERE email = ANY($1) AND NOT disabled`,
    [
      [
        'researcher@leeds.example',
        'release.officer@custodian.example',
        'panel1@custodian.example',
        'panel2@custodian.example',
        'panel3@custodian.example',
      ],
    ],
  );
  const by = (email: string) => users.find((u) => u.email === email);
  const researcher = by('researcher@leeds.example');
  const officer = by('release.officer@custodian.example');
  const panel = ['panel1', 'panel2', 'panel3'].map((p) => by(`${p}@custodian.example`));
  if (!researcher || !officer || panel.some((p) => !p)) return 0;
  const bids = app.get(BidsService);
  const screening = app.get(ScreeningService);
  const votes = app.get(PanelService);
  let created = 0;
  for (const { key, ...dto } of DEMO_BIDS) {
    const bid = await bids.create(researcher, dto);
    created++;
    if (key === 'draft' || key === 'consent_draft') continue; // consent: the researcher attaches the cohort
    await bids.submit(researcher, bid.id);
    if (key === 'submitted') continue;
    if (key === 'returned') {
      await screening.screen(officer, bid.id, {
        outcome: 'return',
        remarks: 'Say which areas the study covers, and why it needs 36 months rather than 12.',
      });
      continue;
    }
    await screening.screen(officer, bid.id, { outcome: 'accept', remarks: 'Complete; into review' });
    const voters = key === 'in_review' ? panel.slice(0, 1) : panel;
    for (const member of voters) {
      const r = await votes.vote(member!, bid.id, {
        decision: 'approve',
        conflictOfInterest: false,
        conditions: key === 'active' ? ['Publish results within 12 months'] : [],
      });
      if (r.bidState !== 'in_review') break;
    }
    if (key === 'active' && (await bids.get(researcher, bid.id)).state === 'approved') {
      await bids.acceptAgreement(researcher, bid.id);
      await demoAmendment(app, researcher, officer, bid.id);
    }
  }
  return created;
}
