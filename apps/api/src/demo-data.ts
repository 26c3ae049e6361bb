import { BIDS_SOURCE } from '@custodian/bids';
import { USERS_SOURCE } from '@custodian/identity';
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { INestApplicationContext } from '@nestjs/common';
import { getDataSourceToken } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { Principal } from '@custodian/core';
import { SourceLoadService } from '@custodian/linkage';
import { BidReleasesService } from '@custodian/release';
import { ExtractsService, PracticesService, runExtractor } from '@custodian/practices';
import { generate } from '@custodian/synth';

/** One pilot practice, one that declined the pilot (it sends nothing), one from the national rollout. */
export const DEMO_PRACTICES = [
  { ods: 'A81001', rollout: 'pilot' as const },
  { ods: 'A81002', rollout: 'pilot_declined' as const },
  { ods: 'A81003', rollout: 'national' as const },
];

const daysAgo = (n: number) => new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10);

/**
 * Real data for the demo, the way production gets it: the synthetic generator writes each
 * practice's full export, the practice-side extractor strips it (Type 1 objectors, fields outside
 * the specification), the centre's intake stores it, and the HES and social-care files are loaded
 * and linked. Returns a one-line summary.
 */
export async function seedDemoPatients(
  app: INestApplicationContext,
  opts: { patients?: number } = {},
): Promise<string> {
  const db = app.get<DataSource>(getDataSourceToken());
  const principal = async (email: string): Promise<Principal> => {
    const [u] = await db.query(
      `SELECT id, email, roles, organisation_id AS "organisationId", practice_ods AS "practiceOds", '' AS "sessionId" FROM ${USERS_SOURCE} WHERE email = $1`,
      [email],
    );
    if (!u) throw new Error(`demo user ${email} is missing`);
    return u;
  };
  const admin = await principal('admin@custodian.example');
  const dataManager = await principal('data.manager@custodian.example');
  const practices = app.get(PracticesService);
  const extracts = app.get(ExtractsService);
  const sources = app.get(SourceLoadService);
  const dir = mkdtempSync(path.join(tmpdir(), 'custodian-demo-'));
  try {
    const manifest = await generate({
      practices: DEMO_PRACTICES.length,
      patients: opts.patients ?? 3000,
      seed: 2026,
      outDir: dir,
      odsCodes: DEMO_PRACTICES.map((p) => p.ods),
    });
    let stored = 0;
    let events = 0;
    for (const p of DEMO_PRACTICES) {
      const name = manifest.practices.find((m) => m.ods === p.ods)?.name ?? `Practice ${p.ods}`;
      await practices.create(admin, { odsCode: p.ods, name, rollout: p.rollout });
      if (p.rollout === 'pilot_declined') continue;
      await practices.recordAwareness(admin, p.ods, {
        startedOn: daysAgo(60),
        reason: 'demo data: the pilot practices informed their patients two months ago',
      });
      const output = path.join(dir, `${p.ods}.extract.ndjson`);
      await runExtractor({ practiceOds: p.ods, input: path.join(dir, `${p.ods}.ndjson`), output });
      const report = await extracts.intake(
        await principal(`practice.${p.ods.toLowerCase()}@nhs.example`),
        p.ods,
        createReadStream(output),
      );
      stored += report.patients;
      events += report.resources;
    }
    const hes = await sources.load(dataManager, 'hes', createReadStream(path.join(dir, 'hes.csv')));
    const social = await sources.load(
      dataManager,
      'social_care',
      createReadStream(path.join(dir, 'social_care.csv')),
    );
    const linked = (r: { linkedByStep: Record<string, number> }) =>
      Object.values(r.linkedByStep).reduce((a, b) => a + b, 0);
    return `demo data: ${stored} patients and ${events} GP events from 2 practices (A81002 declined the pilot), ${linked(hes)}/${hes.rows} HES and ${linked(social)}/${social.rows} social-care rows linked`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The demo's active bid gets a release (built by the in-process worker within seconds of start). */
export async function seedDemoRelease(app: INestApplicationContext): Promise<string> {
  const db = app.get<DataSource>(getDataSourceToken());
  const [bid] = await db.query(
    `SELECT id, title FROM ${BIDS_SOURCE} WHERE state = 'active' ORDER BY created_at LIMIT 1`,
  );
  const [officer] = await db.query(
    `SELECT id, email, roles, organisation_id AS "organisationId", practice_ods AS "practiceOds", '' AS "sessionId"
       FROM ${USERS_SOURCE} WHERE email = 'release.officer@custodian.example'`,
  );
  if (!bid || !officer) return '';
  const release = await app
    .get(BidReleasesService)
    .request(officer, bid.id, { requestId: 'demo-seed', ip: '127.0.0.1' });
  return `\ndemo release ${release.id} of the active bid "${bid.title}" is being built (GET /api/releases/${release.id})`;
}
