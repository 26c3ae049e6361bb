import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import request from 'supertest';
import type TestAgent from 'supertest/lib/agent';
import { Client } from 'pg';
import { AppConfig, loadConfig, Role } from '@custodian/core';
import { IdentityService, Organisation, OrganisationKind, User } from '@custodian/identity';
import { createTestDatabase, TestDatabase } from './database';
import { bidAt, type BidOptions, type BidStage, type FactoryBid } from './bids';
import { apiAppLoader } from './api-app-registry';
import { withOpenApiContract } from './openapi-contract';

export const TEST_PASSWORD = 'correct-horse-battery-staple';

export interface TestApp {
  app: NestFastifyApplication;
  config: AppConfig;
  db: TestDatabase;
  /** Superuser client on this file's database. */
  sql: Client;
  http: TestAgent;
  factory: Factory;
  /** Signs in and returns the access token. */
  login(email: string, password?: string): Promise<string>;
  /** Creates a user with these roles (and an organisation when needed), signs in, returns token and user. */
  as(
    roles: Role | Role[],
    opts?: { organisationId?: string; practiceOds?: string },
  ): Promise<{ token: string; user: User; auth: { Authorization: string } }>;
  close(): Promise<void>;
}

export interface Factory {
  organisation(overrides?: Partial<{ name: string; kind: OrganisationKind }>): Promise<Organisation>;
  user(
    overrides?: Partial<{
      email: string;
      password: string;
      displayName: string;
      roles: Role[];
      organisationId: string;
      practiceOds: string;
    }>,
  ): Promise<User>;
  /** A bid at this stage of its life, taken there over HTTP (see `bidAt`). */
  bid(stage: BidStage, options?: BidOptions): Promise<FactoryBid>;
}

let seq = 0;
const unique = (p: string) => `${p}-${process.pid}-${++seq}-${Math.random().toString(36).slice(2, 7)}`;

/** The full API on a fresh copy of the migrated database, driven over real HTTP by supertest. */
export async function createTestApp(env: Record<string, string> = {}): Promise<TestApp> {
  const db = await createTestDatabase();
  const config = loadConfig({
    NODE_ENV: 'test',
    CUSTODIAN_STATE_DIR: mkdtempSync(path.join(tmpdir(), 'custodian-test-')),
    JWT_SECRET: 'test-jwt-secret-that-is-long-enough-0123456789',
    PSEUDONYM_KEY_SECRET: 'test-pseudonym-secret-long-enough-0123456789',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...env,
  });
  const loadApiApp = apiAppLoader();
  if (!loadApiApp)
    throw new Error('No application registered: vitest setupFiles must include test/support/api-app.ts');
  const createApiApp = await loadApiApp();
  const app = await createApiApp(config, db.url);
  const sql = await db.superuser();
  const identity = app.get(IdentityService);
  const factory: Factory = {
    organisation: (o = {}) =>
      identity.createOrganisation(null, { name: o.name ?? unique('Org'), kind: o.kind ?? 'academic' }),
    async user(o = {}) {
      const roles = o.roles ?? ['researcher'];
      let organisationId = o.organisationId;
      if (!organisationId && roles.includes('researcher')) organisationId = (await factory.organisation()).id;
      return identity.createUser(null, {
        email: o.email ?? `${unique('user')}@example.org`,
        password: o.password ?? TEST_PASSWORD,
        displayName: o.displayName ?? 'Test User',
        roles,
        organisationId,
        practiceOds: o.practiceOds ?? (roles.includes('practice') ? 'A81001' : undefined),
      });
    },
    bid: (stage, options) => bidAt(testApp, stage, options),
  };
  // Every response is checked against the checked-in docs/openapi.json (the contract test).
  const http = withOpenApiContract(request(app.getHttpServer()));
  const login = async (email: string, password = TEST_PASSWORD) => {
    const res = await request(app.getHttpServer()).post('/api/auth/login').send({ email, password });
    if (res.status !== 200)
      throw new Error(`login failed for test user: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.accessToken as string;
  };
  const testApp: TestApp = {
    app,
    config,
    db,
    sql,
    http,
    factory,
    login,
    async as(roles, opts = {}) {
      const user = await factory.user({ roles: Array.isArray(roles) ? roles : [roles], ...opts });
      const token = await login(user.email);
      return { token, user, auth: { Authorization: `Bearer ${token}` } };
    },
    async close() {
      await app.close();
      await db.drop();
    },
  };
  return testApp;
}
