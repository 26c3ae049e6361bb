import { Global, Module, OnApplicationBootstrap } from '@nestjs/common';
import { Inject } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from '@custodian/audit';
import { APP_CONFIG, AppConfig } from '@custodian/core';
import { JobsService } from '@custodian/database';
import { USER_NOTICES } from '@custodian/identity';
import { Notification } from './notification.entity';
import {
  NOTIFICATIONS_DAILY_CRON,
  NOTIFICATIONS_DAILY_QUEUE,
  NOTIFICATIONS_SEND_QUEUE,
  NotificationsService,
} from './notifications.service';

/**
 * Email notifications (#25): the outbox, the send job and the daily sweep. No controllers. Global: it
 * provides `USER_NOTICES` to identity, which does not import notifications (notifications →
 * identity), as auth provides `USER_SESSIONS`.
 */
@Global()
@Module({
  imports: [TypeOrmModule.forFeature([Notification]), AuditModule],
  providers: [NotificationsService, { provide: USER_NOTICES, useExisting: NotificationsService }],
  exports: [NotificationsService, USER_NOTICES],
})
export class NotificationsModule implements OnApplicationBootstrap {
  constructor(
    private readonly jobs: JobsService,
    private readonly notifications: NotificationsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const { maxAttempts, retrySeconds } = this.config.notifications;
    await this.jobs.work<{ id: string }>(
      NOTIFICATIONS_SEND_QUEUE,
      async ({ id }) => {
        await this.notifications.deliver(id);
      },
      { retryLimit: maxAttempts, retryDelay: retrySeconds, expireInSeconds: 120 },
    );
    await this.jobs.work(NOTIFICATIONS_DAILY_QUEUE, () => this.notifications.runDailySweeps(), {
      concurrency: 1,
    });
    await this.jobs.schedule(NOTIFICATIONS_DAILY_QUEUE, NOTIFICATIONS_DAILY_CRON);
  }
}
