import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Client } from 'pg';
import { createApiApp } from '../apps/api/src/bootstrap';
import { AppConfig, loadConfig } from '@custodian/core';
import { EmbeddedDatabase, runMigrations, startEmbeddedPostgres } from '@custodian/database';
import { IdentityService } from '@custodian/identity';
import { ReleaseService, ReleaseSpec } from '@custodian/release';
import type { TestApp } from '@custodian/testing';
import {
  ensureActiveBid,
  readVerifiedRelease,
  seedGpPopulation,
  seedPractice,
  spec,
  waitForRelease,
} from './release-helpers';
import { killWorker, startWorker } from './support/worker-process';

/**
 * Workers and database outages (#29), on a PostgreSQL of this file's own (it is stopped here):
 * a standalone worker (`npm run worker`) rides out the database going away mid-release and
 * finishes the release when it is back; a release whose worker died is taken over by another
 * live worker's periodic check, without any worker starting. Needs the built worker.
 */
describe('workers through database outages', () => {
  const stateDir = mkdtempSync(path.join(tmpdir(), 'custodian-outage-'));
  const pgDir = path.join(stateDir, 'pg');
  let pg: EmbeddedDatabase;
  let port: number;
  let app: NestFastifyApplication;
  let config: AppConfig;
  let sql: Client;
  let t: TestApp;
  const workers: ChildProcess[] = [];
  let officer: { id: string; roles: string[] };
  let researcherId: string;

  beforeAll(async () => {
    // The port chosen when the server starts, not before its initdb (a port found free seconds
    // earlier was taken once in CI: "did not start"); restarts use the same one.
    pg = await startEmbeddedPostgres({ dataDir: pgDir, password: 'outage-test' });
    port = Number(new URL(pg.url).port);
    await runMigrations(pg.url);
    config = loadConfig({
      NODE_ENV: 'test',
      CUSTODIAN_STATE_DIR: stateDir,
      JWT_SECRET: 'x'.repeat(40),
      PSEUDONYM_KEY_SECRET: 'y'.repeat(40),
      LOG_LEVEL: 'silent',
      RUN_WORKER: 'false',
    });
    app = await createApiApp(config, pg.url);
    sql = new Client({ connectionString: pg.url });
    await sql.connect();
    sql.on('error', () => undefined);
    // What the release helpers and startWorker read of a test app.
    t = { app, config, sql, db: { url: pg.url } } as unknown as TestApp;
    const identity = app.get(IdentityService);
    const org = await identity.createOrganisation(null, { name: 'Outage University', kind: 'academic' });
    officer = (await identity.createUser(null, {
      email: 'officer@outage.example',
      password: 'outage-password-1',
      displayName: 'O',
      roles: ['release_officer'],
    })) as never;
    researcherId = (
      await identity.createUser(null, {
        email: 'researcher@outage.example',
        password: 'outage-password-1',
        displayName: 'R',
        roles: ['researcher'],
        organisationId: org.id,
      })
    ).id;
    await seedPractice(sql);
    await seedGpPopulation(sql, 8000, 25);
  }, 120_000);

  afterAll(async () => {
    for (const w of workers) await killWorker(w);
    await sql?.end().catch(() => undefined);
    await app?.close();
    await pg?.stop();
  });

  const newSpec = (): ReleaseSpec =>
    spec({
      tier: 'pseudonymised',
      datasets: [{ dataset: 'gp', fields: ['nhs_number', 'sex', 'code', 'event_date'] }],
      recipients: [researcherId],
      requestedBy: officer.id,
    });

  const worker = async (env: Record<string, string> = {}) => {
    const w = await startWorker(t, { RELEASE_SHARD_ROWS: '40000', RELEASE_MAX_SHARDS: '4', ...env });
    workers.push(w);
    return w;
  };

  /** Waits until the release is being built (its rows estimated). */
  const untilBuilding = async (id: string) => {
    const until = Date.now() + 30_000;
    for (;;) {
      const { rows } = await sql.query(`SELECT state, rows_estimated FROM releases WHERE id = $1`, [id]);
      if (rows[0].state === 'running' && Number(rows[0].rows_estimated) > 0) return;
      if (rows[0].state !== 'queued' && rows[0].state !== 'running') throw new Error(rows[0].state);
      if (Date.now() > until) throw new Error('the release did not start');
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  it('PostgreSQL stopped for 30 s under a standalone worker mid-release: the worker stays up and the release completes', async () => {
    const w = await worker({ LOG_LEVEL: 'warn' });
    const log: string[] = [];
    w.stdout!.on('data', (d: Buffer) => log.push(d.toString()));
    w.stderr!.on('data', (d: Buffer) => log.push(d.toString()));
    const exits: (number | string | null)[] = [];
    w.on('exit', (code, signal) => exits.push(code ?? signal));
    const s = newSpec();
    await ensureActiveBid(t, s);
    const { id } = await app.get(ReleaseService).request(s, officer as never);
    await untilBuilding(id);

    await sql.end();
    await pg.stop();
    let down: (number | string | null)[];
    try {
      await new Promise((r) => setTimeout(r, 30_000));
      down = [...exits];
    } finally {
      pg = await startEmbeddedPostgres({ dataDir: pgDir, password: 'outage-test', port });
      sql = new Client({ connectionString: pg.url });
      await sql.connect();
      sql.on('error', () => undefined);
      t.sql = sql;
    }
    expect(down).toEqual([]);

    // 90 s was short once under CI's load (the release still running); the log says why if it
    // happens again.
    const done = await waitForRelease(t, id, 150_000).catch((err: Error) => {
      throw new Error(`${err.message}; the worker's log:\n${log.join('').slice(-4000)}`);
    });
    expect(done).toMatchObject({ state: 'completed', failure_reason: null });
    expect(exits).toEqual([]);
    const { manifest } = readVerifiedRelease(path.join(config.dataDir, id));
    expect(manifest.files.find((f) => f.name === 'gp.csv.gz')!.rows).toBe(200_000);
    await killWorker(w);
  }, 240_000);

  it('a worker killed mid-release while another runs: the live one takes the release over within a minute, no worker restarted', async () => {
    const a = await worker();
    const s = newSpec();
    await ensureActiveBid(t, s);
    const { id } = await app.get(ReleaseService).request(s, officer as never);
    await untilBuilding(id);
    // A is paused holding the release; B starts (its start-up check leaves a held release alone),
    // then A dies.
    a.kill('SIGSTOP');
    await worker({ RELEASE_ORPHAN_CHECK_SECONDS: '5' });
    await new Promise((r) => setTimeout(r, 1_000));
    await killWorker(a);
    const { rows } = await sql.query(`SELECT state FROM releases WHERE id = $1`, [id]);
    expect(rows[0].state).toBe('running');
    const t0 = Date.now();
    const done = await waitForRelease(t, id, 60_000);
    expect(done).toMatchObject({ state: 'completed', failure_reason: null });
    expect(Date.now() - t0).toBeLessThan(60_000);
  }, 120_000);
});
