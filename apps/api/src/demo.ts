import { ORGANISATIONS_SOURCE, USERS_SOURCE } from '@custodian/identity';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { INestApplicationContext } from '@nestjs/common';
import { getDataSourceToken } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { seedDemoBids } from '@custodian/governance';
import { seedDemoPatients, seedDemoRelease } from './demo-data';
import { AppConfig, Role } from '@custodian/core';
import { IdentityService } from '@custodian/identity';

interface DemoUser {
  email: string;
  displayName: string;
  roles: Role[];
  org?: string;
  practiceOds?: string;
}

export const DEMO_ORGANISATIONS = [
  { key: 'centre', name: 'National Data Centre', kind: 'public_body' },
  { key: 'leeds', name: 'University of Leeds', kind: 'academic' },
  { key: 'acme', name: 'Acme Health Analytics Ltd', kind: 'commercial' },
  { key: 'trust', name: 'Leeds Teaching Hospitals NHS Trust', kind: 'nhs' },
] as const;

export const DEMO_USERS: DemoUser[] = [
  { email: 'admin@custodian.example', displayName: 'Ada Admin', roles: ['admin'], org: 'centre' },
  // The administrator who asked for the pending grant below: the demo admin's approval to make.
  { email: 'admin2@custodian.example', displayName: 'Abe Admin', roles: ['admin'], org: 'centre' },
  {
    email: 'data.manager@custodian.example',
    displayName: 'Dan Data-Manager',
    roles: ['data_manager'],
    org: 'centre',
  },
  {
    email: 'release.officer@custodian.example',
    displayName: 'Rita Release-Officer',
    roles: ['release_officer'],
    org: 'centre',
  },
  { email: 'auditor@custodian.example', displayName: 'Otto Auditor', roles: ['auditor'], org: 'centre' },
  { email: 'panel1@custodian.example', displayName: 'Priya Panel', roles: ['panel_member'], org: 'centre' },
  { email: 'panel2@custodian.example', displayName: 'Paul Panel', roles: ['panel_member'], org: 'trust' },
  { email: 'panel3@custodian.example', displayName: 'Pat Panel', roles: ['panel_member'], org: 'centre' },
  { email: 'researcher@leeds.example', displayName: 'Rosa Researcher', roles: ['researcher'], org: 'leeds' },
  { email: 'analyst@acme.example', displayName: 'Alex Analyst', roles: ['researcher'], org: 'acme' },
  {
    email: 'practice.a81001@nhs.example',
    displayName: 'Practice A81001',
    roles: ['practice'],
    practiceOds: 'A81001',
  },
  {
    // The practice that declined the pilot: it has yet to record its awareness start.
    email: 'practice.a81002@nhs.example',
    displayName: 'Practice A81002',
    roles: ['practice'],
    practiceOds: 'A81002',
  },
  {
    email: 'practice.a81003@nhs.example',
    displayName: 'Practice A81003',
    roles: ['practice'],
    practiceOds: 'A81003',
  },
];

/**
 * A new panel member whose role waits for a second administrator (issue #28): asked for by the
 * second demo administrator, so the demo admin has a grant to approve at first sign-in (issue #20).
 */
const DEMO_PENDING_USER = {
  email: 'panel4@custodian.example',
  displayName: 'Noor New-Panel',
  roles: ['panel_member'] as Role[],
  org: 'centre',
  requestedBy: 'admin2@custodian.example',
};

/**
 * On an empty database (no organisations yet) in demo mode: organisations and one user per role,
 * with generated passwords kept (0600) under the state directory so later starts can print them
 * again. Later issues add practices, patients and bids here. Returns the text to print.
 */
export async function seedDemo(app: INestApplicationContext, config: AppConfig): Promise<string | undefined> {
  const identity = app.get(IdentityService);
  await identity.ensureFirstAdmin(config.admin);
  const credentialsFile = path.join(config.stateDir, 'demo-credentials.json');
  if (!config.demoSeed) return undefined;
  const db = app.get<DataSource>(getDataSourceToken());
  const [{ n }] = await db.query(`SELECT count(*)::int AS n FROM ${ORGANISATIONS_SOURCE}`);
  let credentials: { email: string; password: string; roles: string[] }[] = [];
  let summary = '';
  if (n === 0) {
    const orgIds = new Map<string, string>();
    for (const o of DEMO_ORGANISATIONS)
      orgIds.set(o.key, (await identity.createOrganisation(null, { name: o.name, kind: o.kind })).id);
    for (const u of DEMO_USERS) {
      const password = randomBytes(12).toString('base64url');
      await identity.createUser(null, {
        email: u.email,
        password,
        displayName: u.displayName,
        roles: u.roles,
        organisationId: u.org ? orgIds.get(u.org) : undefined,
        practiceOds: u.practiceOds,
      });
      credentials.push({ email: u.email, password, roles: u.roles });
    }
    // Through the administrators' own path (requestUser), as the second administrator.
    const p = DEMO_PENDING_USER;
    const [requester] = await db.query(
      `SELECT id, email, roles, organisation_id AS "organisationId", practice_ods AS "practiceOds", '' AS "sessionId"
         FROM ${USERS_SOURCE} WHERE email = $1`,
      [p.requestedBy],
    );
    const password = randomBytes(12).toString('base64url');
    await identity.requestUser(requester, {
      email: p.email,
      password,
      displayName: p.displayName,
      roles: p.roles,
      organisationId: orgIds.get(p.org),
    });
    credentials.push({ email: p.email, password, roles: p.roles.map((r) => `${r} (awaiting approval)`) });
    writeFileSync(credentialsFile, JSON.stringify(credentials, null, 2), { mode: 0o600 });
    summary = await seedDemoPatients(app);
    await seedDemoBids(app);
    summary += await seedDemoRelease(app);
  } else if (existsSync(credentialsFile)) {
    credentials = JSON.parse(readFileSync(credentialsFile, 'utf8'));
  }
  if (!credentials.length) return undefined;
  const width = Math.max(...credentials.map((c) => c.email.length));
  return [
    'Demo sign-ins (email, password, roles):',
    ...credentials.map((c) => `  ${c.email.padEnd(width)}  ${c.password}  ${c.roles.join(', ')}`),
    ...(summary ? ['', summary] : []),
  ].join('\n');
}
