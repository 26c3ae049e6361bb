import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { AuditService } from './audit.service';

/** How often an API process chains the counts of denial minutes that have closed. */
const SWEEP_MS = 15_000;

/**
 * Chains the summaries of repeated denials (see `AuditService.recordDenial`). Runs in every API
 * process; the counters are locked with SKIP LOCKED, so processes never chain a count twice, and a
 * process that dies leaves its counts for the next sweep.
 */
@Injectable()
export class DenialSweeper implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('AuditDenials');
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;

  constructor(private readonly audit: AuditService) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      this.running ??= this.audit
        .flushDenials()
        .catch((err: unknown) =>
          this.logger.warn({ err: { message: (err as Error)?.message } }, 'denial sweep failed; retried'),
        )
        .finally(() => (this.running = undefined));
    }, SWEEP_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}
