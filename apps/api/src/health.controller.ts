import { Controller, Get, HttpCode, Inject, OnApplicationShutdown, Res } from '@nestjs/common';
import { ApiOkResponse, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { Pool } from 'pg';
import { Public } from '@custodian/core';
import { DATABASE_OWNER_URL } from '@custodian/database';

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

  constructor(@Inject(DATABASE_OWNER_URL) url: string) {
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
  @ApiOkResponse({ schema: { example: { status: 'ok', database: 'up' } } })
  @ApiServiceUnavailableResponse({
    schema: { example: { status: 'degraded', database: 'down', code: 'DATABASE_UNAVAILABLE' } },
  })
  async health(@Res({ passthrough: true }) reply: Reply) {
    const up = await this.probe();
    if (!up) {
      reply.status(503);
      return { status: 'degraded', database: 'down', code: 'DATABASE_UNAVAILABLE' };
    }
    return { status: 'ok', database: 'up' };
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
