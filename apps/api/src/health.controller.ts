import { Controller, Get, HttpCode, Res } from '@nestjs/common';
import { ApiOkResponse, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Public } from '@custodian/core';

interface Reply {
  status(code: number): Reply;
}

@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** Liveness (the process answers) and readiness (the database answers within two seconds). */
  @Get()
  @Public()
  @HttpCode(200)
  @ApiOkResponse({ schema: { example: { status: 'ok', database: 'up' } } })
  @ApiServiceUnavailableResponse({
    schema: { example: { status: 'degraded', database: 'down', code: 'DATABASE_UNAVAILABLE' } },
  })
  async health(@Res({ passthrough: true }) reply: Reply) {
    const up = await Promise.race([
      this.db.query('SELECT 1').then(
        () => true,
        () => false,
      ),
      new Promise<boolean>((r) => setTimeout(() => r(false), 2000).unref()),
    ]);
    if (!up) {
      reply.status(503);
      return { status: 'degraded', database: 'down', code: 'DATABASE_UNAVAILABLE' };
    }
    return { status: 'ok', database: 'up' };
  }
}
