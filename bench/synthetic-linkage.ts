import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { createApiApp } from '../apps/api/src/bootstrap';
import { Principal } from '@custodian/core';
import { runMigrations } from '@custodian/database';
import { IdentityService } from '@custodian/identity';
import { SourceLoadService } from '@custodian/linkage';
import { ExtractsService, PracticesService, runExtractor } from '@custodian/practices';
import { generate, parseErrorModel } from '@custodian/synth';
import { argValue, benchDatabase, timed } from './common';
import { formatTruth, loadTruth, measureTruth, syntheticLinkageConfig } from './linkage-truth';

/**
 * The synthetic population end to end: generate N patients over P practices, run each practice's
 * export through the extractor and the intake, load HES and social care, and print the share of
 * rows linked at each step, and precision and recall per step against `linkage_truth.csv`
 * (docs/LINKAGE.md). `node dist/bench/synthetic-linkage.js --patients 100000 [--practices 20]
 * [--seed 7] [--errors key=value,…] [--keep]` (--errors: the generator's error model, docs/SYNTHETIC_DATA.md; --keep leaves the database for ad-hoc queries and prints its URL).
 */
async function main(): Promise<void> {
  const patients = Number(argValue('patients', '100000'));
  const practicesN = Number(argValue('practices', '20'));
  const seed = Number(argValue('seed', '7'));
  const keep = process.argv.includes('--keep');
  const errors = parseErrorModel(argValue('errors', process.env.SYNTH_ERRORS ?? '')!);
  const db = await benchDatabase();
  const name = `synthlink_${Date.now()}`;
  const admin = new Client({ connectionString: db.url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = Object.assign(new URL(db.url), { pathname: `/${name}` }).toString();
  await runMigrations(url);
  const config = syntheticLinkageConfig('sl-');
  const app = await createApiApp(config, url);
  const dir = mkdtempSync(path.join(tmpdir(), 'synth-linkage-'));
  try {
    const identity = app.get(IdentityService);
    const mk = async (email: string, roles: Principal['roles'], practiceOds?: string): Promise<Principal> => {
      const u = await identity.createUser(null, {
        email,
        password: 'synthetic-linkage-1',
        displayName: email,
        roles,
        practiceOds,
      });
      return {
        id: u.id,
        email,
        roles,
        organisationId: null,
        practiceOds: practiceOds ?? null,
        sessionId: '',
      };
    };
    const adminP = await mk('admin@sl.example', ['admin']);
    const dm = await mk('dm@sl.example', ['data_manager']);
    const gen = await timed(() => generate({ practices: practicesN, patients, seed, errors, outDir: dir }));
    console.log(`generated ${patients} patients in ${gen.seconds.toFixed(1)} s`);
    console.log(`error model: ${JSON.stringify(gen.value.errors)}`);
    const practices = app.get(PracticesService);
    const extracts = app.get(ExtractsService);
    const intake = await timed(async () => {
      for (const p of gen.value.practices) {
        await practices.create(adminP, { odsCode: p.ods, name: p.name, rollout: 'national' });
        await practices.recordAwareness(adminP, p.ods, {
          startedOn: '2025-01-01',
          reason: 'benchmark set-up: awareness period over',
        });
        const out = path.join(dir, `${p.ods}.extract.ndjson`);
        await runExtractor({ practiceOds: p.ods, input: path.join(dir, p.file), output: out });
        await extracts.intake(
          await mk(`${p.ods.toLowerCase()}@sl.example`, ['practice'], p.ods),
          p.ods,
          createReadStream(out),
        );
      }
    });
    console.log(`extracted and ingested ${practicesN} practices in ${intake.seconds.toFixed(1)} s`);
    const sources = app.get(SourceLoadService);
    for (const kind of ['hes', 'social_care'] as const) {
      const r = await timed(() =>
        sources.load(
          dm,
          kind,
          createReadStream(path.join(dir, kind === 'hes' ? 'hes.csv' : 'social_care.csv')),
        ),
      );
      const rep = r.value;
      const share = (n: number) => `${((100 * n) / rep.rows).toFixed(1)}%`;
      console.log(
        `\n${kind}: ${rep.rows} rows in ${r.seconds.toFixed(1)} s; rejected ${rep.rejected.length}`,
      );
      console.log('| step | rows | share |\n|---|---|---|');
      for (const [step, n] of Object.entries(rep.linkedByStep))
        console.log(`| ${step} | ${n} | ${share(n)} |`);
      console.log(`| unlinked | ${rep.unlinked} | ${share(rep.unlinked)} |`);
    }
    const truth = new Client({ connectionString: url });
    await truth.connect();
    try {
      await loadTruth(truth, path.join(dir, 'linkage_truth.csv'));
      console.log(formatTruth(await measureTruth(truth)));
      if (keep) await truth.query(`CREATE TABLE kept_linkage_truth AS SELECT * FROM linkage_truth`);
    } finally {
      await truth.end();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await app.close();
    if (keep) console.log(`kept database: ${url}`);
    else await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
    await db.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
