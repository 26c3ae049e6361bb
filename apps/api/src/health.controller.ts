import { Controller, Get, HttpCode, Inject, OnApplicationShutdown, Res } from '@nestjs/common';
import { ApiOkResponse, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { InjectDataSource } from '@nestjs/typeorm';
import { Pool } from 'pg';
import { DataSource } from 'typeorm';
import { Public } from '@custodian/core';
import { DATABASE_OWNER_URL } from '@custodian/database';

/** The application pool counts as saturated when a connection cannot be had from it within this. */
const POOL_WAIT_MS = 1000;

interface Reply {
  status(code: number): Reply;
}

@ApiTags('health')
@Controller('health')
export class HealthController implements OnApplicationShutdown {
  /** Its own one-connection pool, so readiness reflects the database, not a busy application pool. */
  private readonly pool: Pool;
  /**
   * The probe in flight, shared by every health request that arrives meanwhile: with one
   * connection, fifty concurrent probes would queue behind each other and report a busy but healthy
   * database as down (seen in the soak: 503s at 50 connections).
   */
  private inflight?: Promise<boolean>;
  /** The application's own pool, whose saturation makes every other request wait and fail. */
  private readonly appPool: Pool;
  private poolInflight?: Promise<boolean>;

  constructor(@Inject(DATABASE_OWNER_URL) url: string, @InjectDataSource() db: DataSource) {
    this.appPool = (db.driver as unknown as { master: Pool }).master;
    this.pool = new Pool({
      connectionString: url,
      max: 1,
      connectionTimeoutMillis: 2000,
      idleTimeoutMillis: 10_000,
      application_name: 'custodian-health',
    });
    this.pool.on('error', () => undefined);
  }

  /** Liveness (the process answers) and readiness (the database answers within two seconds). */
  @Get()
  @Public()
  @HttpCode(200)
  @ApiOkResponse({
    schema: {
      type: 'object',
      required: ['status', 'database'],
      additionalProperties: false,
      properties: { status: { type: 'string', enum: ['ok'] }, database: { type: 'string', enum: ['up'] } },
      example: { status: 'ok', database: 'up' },
    },
  })
  @ApiServiceUnavailableResponse({
    description:
      'Not ready: the database does not answer (DATABASE_UNAVAILABLE) or no pooled connection is free (POOL_SATURATED); while the service shuts down, the Error body (SERVICE_UNAVAILABLE)',
    schema: {
      anyOf: [
        {
          type: 'object',
          required: ['status', 'database', 'code'],
          additionalProperties: false,
          properties: {
            status: { type: 'string', enum: ['degraded'] },
            database: { type: 'string', enum: ['up', 'down'] },
            pool: { type: 'string', enum: ['saturated'] },
            code: { type: 'string', enum: ['DATABASE_UNAVAILABLE', 'POOL_SATURATED'] },
          },
        },
        { $ref: '#/components/schemas/Error' },
      ],
      example: { status: 'degraded', database: 'down', code: 'DATABASE_UNAVAILABLE' },
    },
  })
  async health(@Res({ passthrough: true }) reply: Reply) {
    const [up, poolFree] = await Promise.all([this.probe(), this.probePool()]);
    if (!up) {
      reply.status(503);
      return { status: 'degraded', database: 'down', code: 'DATABASE_UNAVAILABLE' };
    }
    if (!poolFree) {
      reply.status(503);
      return { status: 'degraded', database: 'up', pool: 'saturated', code: 'POOL_SATURATED' };
    }
    return { status: 'ok', database: 'up' };
  }

  /**
   * Readiness of the application pool: a connection can be had within a second. A database that
   * answers while every pooled connection is held (slow uploads, long transactions) still fails
   * every request after the pool's 5 s wait: a load balancer must see that. Shared like probe();
   * a connection obtained after the deadline is given straight back.
   */
  private probePool(): Promise<boolean> {
    this.poolInflight ??= new Promise<boolean>((resolve) => {
      let late = false;
      const timer = setTimeout(() => {
        late = true;
        resolve(false);
      }, POOL_WAIT_MS);
      this.appPool.connect().then(
        (client) => {
          client.release();
          clearTimeout(timer);
          if (!late) resolve(true);
        },
        () => {
          clearTimeout(timer);
          resolve(false);
        },
      );
    }).finally(() => (this.poolInflight = undefined));
    return this.poolInflight;
  }

  private probe(): Promise<boolean> {
    this.inflight ??= Promise.race([
      this.pool.query('SELECT 1').then(
        () => true,
        () => false,
      ),
      new Promise<boolean>((r) => setTimeout(() => r(false), 2000).unref()),
    ]).finally(() => (this.inflight = undefined));
    return this.inflight;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.pool.end().catch(() => undefined);
  }
}
